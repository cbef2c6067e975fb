/** What a Node-only function does in the page: fail with a clear message if the codec ever calls it. */
export function unsupported(name: string): () => never {
  return () => {
    throw new Error(`${name} is not available in the browser`);
  };
}

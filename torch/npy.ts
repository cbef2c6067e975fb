import { open } from "node:fs/promises";

/**
 * NumPy .npy (format 1.0) bytes of a C-ordered array, for the files the TypeScript side hands to torch/*.py:
 * `descr` is NumPy's dtype string ("<f4" for Float32Array, "|u1" for Uint8Array).
 */
export function npyBytes(data: Float32Array | Uint8Array, descr: "<f4" | "|u1", shape: number[]): Uint8Array {
  const dims = `${shape.join(", ")}${shape.length === 1 ? "," : ""}`;
  const header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  // magic (6) + version (2) + header length (2) + header + "\n", padded to a multiple of 64
  const spaces = " ".repeat((64 - ((10 + header.length + 1) % 64)) % 64);
  const padded = `${header}${spaces}\n`;
  const out = new Uint8Array(10 + padded.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, padded.length, true);
  out.set(new TextEncoder().encode(padded), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + padded.length);
  return out;
}

/** The first dimension of a .npy file's shape, from its header only; null when unreadable. */
export async function npyRows(path: string): Promise<number | null> {
  try {
    const file = await open(path);
    const { buffer, bytesRead } = await file.read(new Uint8Array(128), 0, 128, 0).finally(() => file.close());
    const head = new TextDecoder().decode(buffer.subarray(0, bytesRead));
    const m = /'shape': \((\d+),/.exec(head);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

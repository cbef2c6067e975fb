/** node:path in the page: POSIX paths over the virtual repository root "/" (pathe: node:path's API, no Node). */
export { basename, dirname, extname, join, normalize, relative, resolve, sep } from "pathe";

import { defineConfig } from "vite";

export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, target: "es2022" },
  test: { include: ["test/**/*.test.ts"], environment: "node" },
} as any);

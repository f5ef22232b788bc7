import { defineConfig } from "vite";

export default defineConfig({
  // No source maps in dist: everything there is served (the Hosting
  // emulator does not apply firebase.json's ignore), and the map is 2.4 MB
  // of the app's source for anyone to fetch. `npx vite build --sourcemap`
  // makes one for a local debugging session.
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, target: "es2022" },
  test: { include: ["test/**/*.test.ts"], environment: "node" },
} as any);

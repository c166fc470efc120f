import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built by `npm run build` (vite build apps/console) to dist/, which the gateway serves at `/`.
// The page runs under a Content-Security-Policy without 'unsafe-inline': nothing is inlined.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Every asset a file of its own: a data: URL would need a wider CSP (img-src data:).
    assetsInlineLimit: 0,
    sourcemap: true,
  },
  server: {
    // `npx vite apps/console` during development: the API of a local `npm start`.
    proxy: { '/v1': 'http://127.0.0.1:3000' },
  },
});

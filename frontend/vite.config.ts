/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

// Django serves dist/index.html for every non-API path and the assets under /static/ (whitenoise).
export default defineConfig(({ command }) => ({
  // Built assets live under /static/; the dev server serves the app at / so client routes match.
  base: command === 'build' ? '/static/' : '/',
  plugins: [react()],
  // One chunk on purpose: the annotation screen needs markdown and the highlighter on first paint anyway.
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 800 },
  server: {
    proxy: { '/api': { target: 'http://127.0.0.1:8000', changeOrigin: false } },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    // Two cores run a dozen test files at once; a first render (markdown, highlighter) can take seconds there.
    testTimeout: 15_000,
    setupFiles: ['src/test-setup.ts'],
  },
}))

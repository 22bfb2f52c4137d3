import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev -w @caretflow/web` proxies the API (and MLflow's UI) to a running caretflow server,
// by default the one `caretflow up` starts; set CARETFLOW_URL to point elsewhere.
const api = process.env.CARETFLOW_URL ?? "http://127.0.0.1:8420";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1200 },
  server: {
    proxy: {
      "/api": { target: api, changeOrigin: false },
      "/mlflow": { target: api, changeOrigin: false },
    },
  },
});

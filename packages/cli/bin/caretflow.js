#!/usr/bin/env node
// The CLI is TypeScript run as-is (no build step): register tsx's loader, then load the entry point.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");

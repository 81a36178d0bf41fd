#!/usr/bin/env node
// kubectl ≥ 1.26 runs `kubectl_complete-vireo <words...>` to complete `kubectl vireo <words...>`; it speaks
// cobra's __complete protocol, which `vireo __complete` implements.
import { runEntry } from "./entry.js";

process.argv.splice(2, 0, "__complete");
await runEntry("cli/main");

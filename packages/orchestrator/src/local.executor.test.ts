import { executorContract } from "./executor.contract.ts";
import { LocalExecutor } from "./local.executor.ts";

executorContract("in-process (LocalExecutor)", (o) => new LocalExecutor(o));

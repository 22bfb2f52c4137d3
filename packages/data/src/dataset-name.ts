// The default dataset name for a file lives in contracts, where the CLI finds it too.
export { datasetNameFromFilename } from "@caretflow/contracts";

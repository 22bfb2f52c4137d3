import { FILE_EXTENSIONS, FILE_FORMAT_BY_EXTENSION, type SourceFormat, userError } from "@caretflow/contracts";

export const supportedExtensions = [...FILE_EXTENSIONS];

/** The source format for a file name, from its extension (case-insensitive); a user error lists what is supported. */
export function formatFromFilename(filename: string): SourceFormat {
  const lower = filename.toLowerCase();
  const dot = lower.lastIndexOf(".");
  const ext = dot >= 0 ? lower.slice(dot) : "";
  const format = FILE_FORMAT_BY_EXTENSION[ext];
  if (format) return format;
  const what = ext ? `files ending in '${ext}'` : `a file without an extension ('${filename}')`;
  const hint =
    ext === ".xls"
      ? "Open the file in Excel or LibreOffice and save it as .xlsx (or CSV UTF-8), then import that file."
      : `Supported: ${supportedExtensions.join(", ")}. Save the data in one of these formats, or pass the format explicitly.`;
  return throwUnsupported(what, hint);
}

function throwUnsupported(what: string, hint: string): never {
  throw userError("unsupported_format", `caretflow cannot import ${what}`, hint, 415);
}

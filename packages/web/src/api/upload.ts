import { CaretflowError, ImportResult } from "@caretflow/contracts";
import { errorFromResponse, parseAnswer } from "@caretflow/contracts/client";
import { serverUnreachable } from "./errors.ts";

const WHAT = "POST /api/datasets";

export interface UploadHandle {
  done: Promise<ImportResult>;
  abort: () => void;
}

/**
 * Sends a file to POST /api/datasets as multipart form data. XMLHttpRequest rather than fetch (so not
 * through the typed client), because only XHR reports upload progress in browsers today; the answer and
 * the errors are read the client's way.
 */
export function uploadDataset(opts: {
  url: string;
  file: File;
  name: string;
  /** An Excel workbook's sheet to import (default: the first). */
  sheet?: string;
  onProgress: (loaded: number, total: number) => void;
  onUnauthorized?: () => void;
}): UploadHandle {
  const xhr = new XMLHttpRequest();
  const done = new Promise<ImportResult>((resolve, reject) => {
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) opts.onProgress(e.loaded, e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(parseAnswer(ImportResult, xhr.responseText, WHAT, "the web UI"));
        } catch (err) {
          reject(err);
        }
        return;
      }
      if (xhr.status === 401) opts.onUnauthorized?.();
      reject(errorFromResponse(xhr.status, xhr.responseText, WHAT));
    };
    xhr.onerror = () => reject(serverUnreachable(new Error("the upload failed")));
    xhr.onabort = () => reject(new CaretflowError({ code: "aborted", message: "The upload was cancelled." }));
  });
  const form = new FormData();
  form.append("file", opts.file, opts.file.name);
  form.append("name", opts.name);
  if (opts.sheet !== undefined) form.append("sheet", opts.sheet);
  xhr.open("POST", opts.url);
  xhr.withCredentials = true;
  xhr.setRequestHeader("accept", "application/json");
  xhr.send(form);
  return { done, abort: () => xhr.abort() };
}

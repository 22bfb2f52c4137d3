import { ImportResult } from "@caretflow/contracts";
import { ApiRequestError, errorFromResponse } from "./errors.ts";

export interface UploadHandle {
  done: Promise<ImportResult>;
  abort: () => void;
}

/**
 * Sends a file to POST /api/datasets as multipart form data. XMLHttpRequest rather than fetch,
 * because only XHR reports upload progress in browsers today.
 */
export function uploadDataset(opts: {
  url: string;
  file: File;
  name: string;
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
          resolve(ImportResult.parse(JSON.parse(xhr.responseText)));
        } catch (err) {
          reject(err);
        }
        return;
      }
      if (xhr.status === 401) opts.onUnauthorized?.();
      reject(errorFromResponse(xhr.status, xhr.responseText));
    };
    xhr.onerror = () => reject(errorFromResponse(0, ""));
    xhr.onabort = () => reject(new ApiRequestError({ status: 0, code: "aborted", message: "The upload was cancelled." }));
  });
  const form = new FormData();
  form.append("file", opts.file, opts.file.name);
  form.append("name", opts.name);
  xhr.open("POST", opts.url);
  xhr.withCredentials = true;
  xhr.setRequestHeader("accept", "application/json");
  xhr.send(form);
  return { done, abort: () => xhr.abort() };
}

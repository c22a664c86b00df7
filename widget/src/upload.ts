// File upload with progress: XHR, because fetch() cannot report upload progress.

import type { Attachment } from "./protocol";

export interface UploadRequest {
  server: string;
  token: string | null;
  conversationId: string;
  file: File;
  onProgress: (fraction: number) => void;
}

export interface UploadHandle {
  done: Promise<Attachment>;
  cancel: () => void;
}

export class UploadError extends Error {}

export function upload(request: UploadRequest): UploadHandle {
  const xhr = new XMLHttpRequest();
  const done = new Promise<Attachment>((resolve, reject) => {
    xhr.open("POST", `${request.server}/api/v1/attachments`);
    if (request.token) xhr.setRequestHeader("Authorization", `Bearer ${request.token}`);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) request.onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      let body: { ok?: boolean; data?: Attachment; error?: { message?: string } } = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // Not our JSON (a proxy's error page): fall through to the status text.
      }
      if (xhr.status === 201 && body.ok && body.data) resolve(body.data);
      else reject(new UploadError(body.error?.message ?? `HTTP ${xhr.status}`));
    };
    xhr.onerror = () => reject(new UploadError("network error"));
    xhr.onabort = () => reject(new UploadError("cancelled"));
    const form = new FormData();
    form.append("conversation_id", request.conversationId);
    form.append("file", request.file, request.file.name);
    xhr.send(form);
  });
  return { done, cancel: () => xhr.abort() };
}

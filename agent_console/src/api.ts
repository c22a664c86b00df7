// REST calls with the agent's Bearer token; failures become ApiErrors with the server's code.

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 0,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

type Body = unknown;

export class Api {
  constructor(
    private readonly token: () => string | null,
    private readonly onUnauthorized: () => void,
  ) {}

  get<T>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }
  post<T>(path: string, body?: Body): Promise<T> {
    return this.request<T>("POST", path, body);
  }
  put<T>(path: string, body?: Body): Promise<T> {
    return this.request<T>("PUT", path, body);
  }
  patch<T>(path: string, body?: Body): Promise<T> {
    return this.request<T>("PATCH", path, body);
  }
  delete<T>(path: string): Promise<T> {
    return this.request<T>("DELETE", path);
  }

  /** Raw response (for CSV downloads). */
  async fetch(path: string): Promise<Response> {
    const response = await fetch(path, { headers: this.headers() });
    if (!response.ok) throw await this.failure(response);
    return response;
  }

  async request<T>(method: string, path: string, body?: Body): Promise<T> {
    const headers = this.headers();
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
    let response: Response;
    try {
      response = await fetch(path, { method, headers, body: payload });
    } catch {
      throw new ApiError("network", "The server cannot be reached. Check your connection.");
    }
    if (!response.ok) throw await this.failure(response);
    const json = await response.json();
    return json.data as T;
  }

  private headers(): Record<string, string> {
    const token = this.token();
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  private async failure(response: Response): Promise<ApiError> {
    let code = "internal";
    let message = `The server answered ${response.status}.`;
    let details: Record<string, unknown> = {};
    try {
      const json = await response.json();
      code = json.error?.code ?? code;
      message = json.error?.message ?? message;
      details = json.error?.details ?? {};
    } catch {
      /* not JSON */
    }
    if (response.status === 401 && code === "unauthorized") this.onUnauthorized();
    return new ApiError(code, message, response.status, details);
  }
}

// The one way the UI talks to the Firefly API: same-origin fetches that carry the session
// cookie, JSON in and out, and every failure as an ApiError with the HTTP status and the
// problem details' `detail`, so a view can tell "not logged in" (401) from other failures
// and show the server's own words. The session calls live here too, so no other module
// needs to know the auth routes.
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}
export async function api(path, opts = {}) {
  const init = { credentials: 'same-origin', headers: {}, ...opts };
  if (opts.json !== undefined) {
    init.method = opts.method || 'POST';
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(opts.json);
  }
  const res = await fetch(path, init);
  if (!res.ok) {
    let detail = '';
    try {
      const p = await res.json();
      detail = p.detail || p.title || '';
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, detail || `${res.status} ${res.statusText}`);
  }
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  return type.includes('json') ? res.json() : res.text();
}

/** Logs in: the answer sets the session cookie that every later call sends. */
export const login = (username, password) => api('/api/v1/auth/login', { json: { username, password } });
export const logout = () => api('/api/v1/auth/logout', { method: 'POST' });
/** The logged-in user (`username`, `role`, `unit`); an ApiError without a session. */
export const currentUser = () => api('/api/v1/me');

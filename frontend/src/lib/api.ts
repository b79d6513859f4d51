// Thin fetch wrapper: session cookie auth, CSRF header on unsafe methods, one error type.

export interface FieldError {
  field?: string
  message: string
  line?: number
}

/** The server answered with a non-2xx status. */
export class ApiError extends Error {
  status: number
  errors: FieldError[]
  data: unknown

  constructor(status: number, data: unknown) {
    const errors = toFieldErrors(data)
    super(errors.map((e) => e.message).join('; ') || `HTTP ${status}`)
    this.status = status
    this.errors = errors
    this.data = data
  }
}

/** The request never got an answer (server down, connection dropped). */
export class NetworkError extends Error {}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export function readCookie(name: string): string | null {
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=')
    if (key === name) return decodeURIComponent(rest.join('='))
  }
  return null
}

export interface RequestOptions {
  body?: unknown
  headers?: Record<string, string>
}

export interface ApiResponse<T> {
  status: number
  data: T
}

export async function request<T = unknown>(
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers }
  let body: BodyInit | undefined
  if (options.body instanceof FormData) {
    body = options.body // the browser sets the multipart boundary itself
  } else if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(options.body)
  }
  if (UNSAFE.has(method)) {
    const token = readCookie('csrftoken')
    if (token) headers['X-CSRFToken'] = token
  }
  let response: Response
  try {
    response = await fetch(path, { method, headers, body, credentials: 'same-origin' })
  } catch (err) {
    throw new NetworkError(err instanceof Error ? err.message : 'Network error')
  }
  const data = await readBody(response)
  if (!response.ok) throw new ApiError(response.status, data)
  return { status: response.status, data: data as T }
}

async function readBody(response: Response): Promise<unknown> {
  if (response.status === 204) return null
  const text = await response.text()
  if (!text) return null
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Normalise the documented `{"errors": [...]}` shape and DRF's defaults (`{"detail"}`, `{"field": [..]}`). */
export function toFieldErrors(data: unknown): FieldError[] {
  if (!data || typeof data !== 'object') {
    return typeof data === 'string' && data.length < 300 && data.trim() ? [{ message: data.trim() }] : []
  }
  const obj = data as Record<string, unknown>
  if (Array.isArray(obj.errors)) {
    return obj.errors.map((e) => {
      const err = e as Record<string, unknown>
      return {
        field: err.field == null ? undefined : String(err.field),
        message: String(err.message ?? err.detail ?? JSON.stringify(err)),
        line: typeof err.line === 'number' ? err.line : undefined,
      }
    })
  }
  if (typeof obj.detail === 'string') return [{ message: obj.detail }]
  return Object.entries(obj).map(([field, value]) => ({
    field,
    message: Array.isArray(value) ? value.join(' ') : String(value),
  }))
}

export const api = {
  get: <T>(path: string) => request<T>('GET', path).then((r) => r.data),
  post: <T>(path: string, body?: unknown, headers?: Record<string, string>) =>
    request<T>('POST', path, { body, headers }),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, { body }).then((r) => r.data),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, { body }).then((r) => r.data),
  delete: (path: string) => request('DELETE', path).then(() => undefined),
}

/** Lists may come paginated (`{"results": [...]}`) or bare; callers want the rows. */
export function rows<T>(data: T[] | { results: T[] } | null | undefined): T[] {
  if (!data) return []
  return Array.isArray(data) ? data : data.results ?? []
}

/** Random v4 UUID; `crypto.randomUUID` exists only in secure contexts, plain http on a LAN host is not one. */
export function uuid4(): string {
  if (typeof crypto.randomUUID === 'function' && globalThis.isSecureContext) return crypto.randomUUID()
  const b = crypto.getRandomValues(new Uint8Array(16))
  b[6] = (b[6] & 0x0f) | 0x40
  b[8] = (b[8] & 0x3f) | 0x80
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

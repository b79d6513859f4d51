// How a failed request reads on screen.
import { ApiError, type FieldError } from './api'

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}

/** The field errors to show for a failed request: the server's, or one line for anything else. */
export function toErrors(err: unknown): FieldError[] {
  return err instanceof ApiError ? err.errors : [{ message: errorText(err) }]
}

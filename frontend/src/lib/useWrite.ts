// A form's write: the field errors it shows, whether a write is under way, and `run`, which clears the errors,
// sends the write and keeps what a failure answered for the form to show.
import { useCallback, useState } from 'react'
import type { FieldError } from './api'
import { toErrors } from './errors'

export function useWrite() {
  const [errors, setErrors] = useState<FieldError[]>([])
  const [busy, setBusy] = useState(false)

  /** Resolves to what `write` returned, or undefined when it failed (its errors are then on the form). */
  const run = useCallback(async <T>(write: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true)
    setErrors([])
    try {
      return await write()
    } catch (err) {
      setErrors(toErrors(err))
      return undefined
    } finally {
      setBusy(false)
    }
  }, [])

  return { errors, setErrors, busy, run }
}

// The lead forms' save: one request at a time, its field errors kept for the form, a notice and a reload on success.
import { useState } from 'react'
import type { FieldError } from '../lib/api'
import { toErrors } from '../lib/errors'
import { pushNotice } from '../lib/notices'

export function useSave(onSaved: () => void) {
  const [errors, setErrors] = useState<FieldError[]>([])
  const [busy, setBusy] = useState(false)

  async function save(request: () => Promise<unknown>, done: string) {
    setBusy(true)
    setErrors([])
    try {
      await request()
      pushNotice('ok', done)
      onSaved()
    } catch (err) {
      setErrors(toErrors(err))
    } finally {
      setBusy(false)
    }
  }

  return { errors, setErrors, busy, save }
}

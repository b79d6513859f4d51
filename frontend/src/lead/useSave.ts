// The lead forms' save: `useWrite`, with a notice and a reload on success.
import { pushNotice } from '../lib/notices'
import { useWrite } from '../lib/useWrite'

export function useSave(onSaved: () => void) {
  const { errors, setErrors, busy, run } = useWrite()

  const save = (request: () => Promise<unknown>, done: string) =>
    run(async () => {
      await request()
      pushNotice('ok', done)
      onSaved()
    })

  return { errors, setErrors, busy, save }
}

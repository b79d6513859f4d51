import { cleanup, configure } from '@testing-library/react'
import { afterEach } from 'vitest'

// Two cores run several test files at once; a 1 s wait for a render is too tight there.
configure({ asyncUtilTimeout: 5000 })

afterEach(() => {
  cleanup()
  window.localStorage.clear()
})

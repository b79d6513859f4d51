import { act, renderHook } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { ApiError } from './api'
import { useWrite } from './useWrite'

describe('useWrite', () => {
  it('answers what the write returned, and is busy only while it runs', async () => {
    const { result } = renderHook(() => useWrite())
    let finish: (value: string) => void = () => {}
    let answer: Promise<string | undefined> = Promise.resolve(undefined)
    act(() => {
      answer = result.current.run(() => new Promise<string>((resolve) => (finish = resolve)))
    })
    expect(result.current.busy).toBe(true)
    await act(async () => finish('saved'))
    expect(await answer).toBe('saved')
    expect(result.current.busy).toBe(false)
    expect(result.current.errors).toEqual([])
  })

  it("keeps a failure's field errors for the form, and clears them when the next write starts", async () => {
    const { result } = renderHook(() => useWrite())
    let answer: unknown = 'not yet'
    await act(async () => {
      answer = await result.current.run(() => Promise.reject(new ApiError(400, { errors: [{ field: 'name', message: 'This field is required.' }] })))
    })
    expect(answer).toBeUndefined()
    expect(result.current.busy).toBe(false)
    expect(result.current.errors).toEqual([{ field: 'name', message: 'This field is required.' }])

    await act(async () => {
      await result.current.run(() => Promise.reject(new Error('network down')))
    })
    expect(result.current.errors).toEqual([{ message: 'network down' }])

    await act(async () => {
      await result.current.run(async () => 1)
    })
    expect(result.current.errors).toEqual([])
  })
})

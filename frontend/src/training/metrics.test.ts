import { QueryClient } from '@tanstack/react-query'
import { describe, expect, it } from 'vitest'
import { alignRuns, appendMetrics, EMPTY_SERIES, orderedKeys, seriesOf } from './metrics'
import { loadMoreMetrics } from './queries'
import { stubFetch, json } from './testing/render'

const row = (step: number, values: Record<string, number | null>) => ({ step, time: '2026-01-01T00:00:00Z', values })

describe('appendMetrics', () => {
  it('appends rows as columns, a key first logged later holding null before it', () => {
    const a = appendMetrics(EMPTY_SERIES, [row(1, { loss: 0.7, learning_rate: 5e-5 }), row(2, { loss: 0.65, learning_rate: 4e-5 })])
    const b = appendMetrics(a, [row(3, { loss: 0.6, eval_loss: 0.62 }), row(4, { loss: 0.55, learning_rate: 2e-5 })])
    expect(b.steps).toEqual([1, 2, 3, 4])
    expect(b.keys).toEqual(['loss', 'learning_rate', 'eval_loss'])
    expect(b.values).toEqual({
      loss: [0.7, 0.65, 0.6, 0.55],
      learning_rate: [5e-5, 4e-5, null, 2e-5],
      eval_loss: [null, null, 0.62, null],
    })
    expect(b.lastStep).toBe(4)
    // The series it grew from is left as it was: the cache and React both hold on to it.
    expect(a.steps).toEqual([1, 2])
    expect(a.values.loss).toEqual([0.7, 0.65])
  })

  it('drops rows it already holds and rows out of order, and keeps the same object when nothing is new', () => {
    const a = appendMetrics(EMPTY_SERIES, [row(1, { loss: 1 }), row(2, { loss: 0.9 })])
    const b = appendMetrics(a, [row(2, { loss: 0.9 }), row(3, { loss: 0.8 }), row(3, { loss: 0.1 }), row(2, { loss: 0.2 }), row(5, { loss: 0.7 })])
    expect(b.steps).toEqual([1, 2, 3, 5])
    expect(b.values.loss).toEqual([1, 0.9, 0.8, 0.7])
    expect(appendMetrics(b, [])).toBe(b)
    expect(appendMetrics(b, [row(4, { loss: 0 })])).toBe(b)
  })

  it('holds null for values that are not finite numbers', () => {
    const s = appendMetrics(EMPTY_SERIES, [{ step: 1, values: { loss: 'nan' as unknown as number, grad_norm: null, acc: 1 } }])
    expect(s.values).toEqual({ loss: [null], grad_norm: [null], acc: [1] })
  })

  it('gives one metric its logged points only, and lines several runs up on one x axis', () => {
    const s = appendMetrics(EMPTY_SERIES, [row(1, { loss: 1 }), row(2, { loss: 0.9, eval_loss: 0.95 }), row(3, { loss: 0.8 }), row(4, { loss: 0.7, eval_loss: 0.8 })])
    expect(seriesOf(s, 'eval_loss')).toEqual([[2, 4], [0.95, 0.8]])
    expect(seriesOf(s, 'missing')).toEqual([[], []])
    expect(alignRuns([[[1, 2, 4], [1, 0.9, 0.7]], [[2, 3], [0.5, 0.4]]])).toEqual([
      [1, 2, 3, 4],
      [1, 0.9, null, 0.7],
      [null, 0.5, 0.4, null],
    ])
  })

  it('puts losses first and keeps the rest in the order logged', () => {
    expect(orderedKeys(['grad_norm', 'epoch', 'rewards/margins', 'loss', 'custom'])).toEqual(['loss', 'rewards/margins', 'grad_norm', 'epoch', 'custom'])
  })
})

describe('loadMoreMetrics', () => {
  it('asks for the steps after the last one held and merges them into the cache', async () => {
    const logged = [row(1, { loss: 0.7 }), row(2, { loss: 0.6 }), row(3, { loss: 0.5, eval_loss: 0.55 }), row(4, { loss: 0.45 }), row(5, { loss: 0.4 })]
    let upTo = 2
    const calls = stubFetch(({ url }) => {
      const after = Number(new URL(url, 'http://x').searchParams.get('after') ?? 0)
      const results = logged.filter((r) => r.step > after && r.step <= upTo)
      return json(200, { results, last_step: upTo })
    })
    const client = new QueryClient()
    const key = [1, 'training-job', 12, 'metrics', 1]
    const poll = async () => client.setQueryData(key, await loadMoreMetrics(client, key, 12))

    await poll()
    upTo = 3
    await poll()
    await poll() // nothing new
    upTo = 5
    await poll()

    expect(calls.map((c) => c.url)).toEqual([
      '/api/training-jobs/12/metrics/',
      '/api/training-jobs/12/metrics/?after=1',
      '/api/training-jobs/12/metrics/?after=2',
      '/api/training-jobs/12/metrics/?after=2',
    ])
    const series = client.getQueryData<ReturnType<typeof appendMetrics>>(key)!
    expect(series.steps).toEqual([1, 2, 3, 4, 5])
    expect(series.values).toEqual({ loss: [0.7, 0.6, 0.5, 0.45, 0.4], eval_loss: [null, null, 0.55, null, null] })
  })

  it('reads the last step again and keeps what the server added to it since (a checkpoint evaluation)', async () => {
    const logged = [row(1, { loss: 0.7 }), row(2, { loss: 0.6 })]
    stubFetch(({ url }) => {
      const after = Number(new URL(url, 'http://x').searchParams.get('after') ?? 0)
      return json(200, { results: logged.filter((r) => r.step > after), last_step: logged[logged.length - 1].step })
    })
    const client = new QueryClient()
    const key = ['k3']
    const poll = async () => client.setQueryData(key, await loadMoreMetrics(client, key, 12))
    await poll()
    const before = client.getQueryData(key)
    await poll()
    expect(client.getQueryData(key)).toBe(before) // the same step read again, unchanged: nothing new
    logged[1] = row(2, { loss: 0.6, 'eval/mean_kl': 1.5, 'eval/mean_reward': 0.3 })
    await poll()
    logged.push(row(3, { loss: 0.5 }))
    await poll()
    const series = client.getQueryData<ReturnType<typeof appendMetrics>>(key)!
    expect(series.steps).toEqual([1, 2, 3])
    expect(series.values).toEqual({ loss: [0.7, 0.6, 0.5], 'eval/mean_kl': [null, 1.5, null], 'eval/mean_reward': [null, 0.3, null] })
  })

  it('follows on at once when an answer is capped before the last step', async () => {
    const logged = Array.from({ length: 2500 }, (_, i) => row(i + 1, { loss: 1 / (i + 1) }))
    const calls = stubFetch(({ url }) => {
      const after = Number(new URL(url, 'http://x').searchParams.get('after') ?? 0)
      return json(200, { results: logged.filter((r) => r.step > after).slice(0, 1000), last_step: 2500 })
    })
    const client = new QueryClient()
    const series = await loadMoreMetrics(client, ['k'], 3)
    expect(calls.map((c) => c.url)).toEqual(['/api/training-jobs/3/metrics/', '/api/training-jobs/3/metrics/?after=1000', '/api/training-jobs/3/metrics/?after=2000'])
    expect(series.steps.length).toBe(2500)
    expect(series.lastStep).toBe(2500)
  })

  it('keeps rows another poll merged while this one was in flight', async () => {
    const client = new QueryClient()
    const key = ['k2']
    let release: (r: Response) => void = () => {}
    stubFetch(() => undefined)
    const pending = new Promise<Response>((resolve) => (release = resolve))
    ;(globalThis.fetch as unknown as { mockImplementationOnce: (f: () => Promise<Response>) => void }).mockImplementationOnce(() => pending)
    const slow = loadMoreMetrics(client, key, 1)
    client.setQueryData(key, appendMetrics(EMPTY_SERIES, [row(1, { loss: 1 }), row(2, { loss: 0.9 })]))
    release(json(200, { results: [row(1, { loss: 1 }), row(2, { loss: 0.9 }), row(3, { loss: 0.8 })], last_step: 3 }))
    const merged = await slow
    expect(merged.steps).toEqual([1, 2, 3])
    expect(merged.values.loss).toEqual([1, 0.9, 0.8])
  })
})

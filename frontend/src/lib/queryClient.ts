// The app's one query cache. A 4xx answer will not change if asked again, so only network errors and 5xx are
// retried; and never a write: a POST that got no answer may have been done (the annotator's answers, which must be
// retried, go through annotate/retryQueue.ts with an Idempotency-Key instead).
import { QueryClient } from '@tanstack/react-query'
import { ApiError } from './api'

/** Ask again after a network error or a 5xx, at most 3 times. */
export const retryTransient = (failures: number, error: unknown) => failures < 3 && !(error instanceof ApiError && error.status < 500)

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { retry: retryTransient },
      mutations: { retry: false },
    },
  })
}

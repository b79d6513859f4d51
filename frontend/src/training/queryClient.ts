// The app's one query cache (the training screens use it). A 4xx answer will not change if asked
// again, so only network errors and 5xx are retried.
import { QueryClient } from '@tanstack/react-query'
import { ApiError } from '../lib/api'

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        retry: (failures, error) => failures < 3 && !(error instanceof ApiError && error.status < 500),
      },
      mutations: { retry: false },
    },
  })
}

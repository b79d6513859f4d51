import { describe, expect, it } from 'vitest'
import { filterErrors, filterQuery, itemHref, listHref, parseMetadata } from './itemFilters'

describe('item filters', () => {
  it('keeps only the filters, drops the page and empty values, and repeats metadata', () => {
    const search = new URLSearchParams('page=3&q=kangaroo&status=&metadata=source=forum&metadata=turns=3&utm=x&max_agreement=0.5')
    expect(filterQuery(search).toString()).toBe('q=kangaroo&max_agreement=0.5&metadata=source%3Dforum&metadata=turns%3D3')
  })

  it('links an item page and the list back with the same filters', () => {
    const search = new URLSearchParams('flagged=true&page=2')
    expect(itemHref(7, 42, search)).toBe('/projects/7/items/42?flagged=true')
    expect(listHref(7, search)).toBe('/projects/7/items?flagged=true')
    expect(itemHref(7, 42, new URLSearchParams('page=2'))).toBe('/projects/7/items/42')
  })

  it('reads metadata pairs from one box and names the one that is not key=value', () => {
    expect(parseMetadata(' source=forum , lang=en,')).toEqual({ pairs: ['source=forum', 'lang=en'], error: null })
    expect(parseMetadata('source=forum, oops').error).toContain('oops')
    expect(parseMetadata('=x').error).not.toBeNull()
  })

  it('puts each server error on its filter box', () => {
    const { byField, general } = filterErrors([
      { field: 'min_agreement', message: 'must be a number from 0 to 1' },
      { field: 'metadata', message: 'must be key=value' },
      { message: 'boom' },
    ])
    expect(byField).toEqual({ min_agreement: 'must be a number from 0 to 1', metadata: 'must be key=value' })
    expect(general).toEqual(['boom'])
  })
})

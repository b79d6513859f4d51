import { afterEach, describe, expect, it } from 'vitest'
import { scrollMove, scrollReading } from './scrolling'

describe('keyboard scrolling of the reading panel', () => {
  it('maps the reading keys to moves, Space a page like PageDown and Shift+Space back', () => {
    expect(scrollMove('PageDown', false, 1000)).toEqual({ by: 850 })
    expect(scrollMove(' ', false, 1000)).toEqual({ by: 850 })
    expect(scrollMove(' ', true, 1000)).toEqual({ by: -850 })
    expect(scrollMove('ArrowUp', false, 1000)).toEqual({ by: -48 })
    expect(scrollMove('End', false, 1000)).toEqual({ to: 'end' })
    expect(scrollMove('Home', false, 1000)).toEqual({ to: 'start' })
    expect(scrollMove('a', false, 1000)).toBeNull()
  })

  /** A scrollable box as jsdom lays nothing out: sizes given, scroll calls recorded. */
  function box(scrollTop: number, clientHeight = 400, scrollHeight = 2000) {
    const el = document.createElement('div')
    const calls: unknown[] = []
    Object.defineProperties(el, {
      clientHeight: { value: clientHeight },
      scrollHeight: { value: scrollHeight },
      scrollTop: { value: scrollTop, writable: true },
    })
    el.scrollBy = ((o: ScrollToOptions) => calls.push(['by', o.top])) as typeof el.scrollBy
    el.scrollTo = ((o: ScrollToOptions) => calls.push(['to', o.top])) as typeof el.scrollTo
    document.body.appendChild(el)
    return { el, calls }
  }
  afterEach(() => {
    document.body.innerHTML = ''
  })

  const key = (k: string, init: KeyboardEventInit = {}, target: EventTarget = document.body) => {
    const event = new KeyboardEvent('keydown', { key: k, cancelable: true, ...init })
    Object.defineProperty(event, 'target', { value: target })
    return event
  }

  it('scrolls the panel and claims the key', () => {
    const panel = box(0)
    const event = key('PageDown')
    expect(scrollReading(event, [panel.el])).toBe(true)
    expect(event.defaultPrevented).toBe(true)
    expect(panel.calls).toEqual([['by', 340]])
    scrollReading(key('End'), [panel.el])
    expect(panel.calls.at(-1)).toEqual(['to', 2000])
  })

  it('scrolls an inner box first while it can still move that way, then the panel', () => {
    const inner = box(0, 100, 300)
    const panel = box(0)
    scrollReading(key('ArrowDown'), [inner.el, panel.el])
    expect(inner.calls).toHaveLength(1)
    const atEnd = box(200, 100, 300)
    scrollReading(key('ArrowDown'), [atEnd.el, panel.el])
    expect(atEnd.calls).toHaveLength(0)
    expect(panel.calls).toHaveLength(1)
  })

  it('leaves Space to buttons and every key to text fields, and ignores keys with Ctrl', () => {
    const panel = box(0)
    const button = document.createElement('button')
    const textarea = document.createElement('textarea')
    expect(scrollReading(key(' ', {}, button), [panel.el])).toBe(false)
    expect(scrollReading(key('PageDown', {}, button), [panel.el])).toBe(true)
    expect(scrollReading(key('PageDown', {}, textarea), [panel.el])).toBe(false)
    expect(scrollReading(key('End', { ctrlKey: true }), [panel.el])).toBe(false)
  })
})

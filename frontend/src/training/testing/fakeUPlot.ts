// Stands in for uPlot under jsdom, which has no canvas or matchMedia: records what the chart was
// built with and given, and leaves a marker element in the page. Tests use it with
// `vi.mock('uplot', () => import('./testing/fakeUPlot'))`.
import type uPlot from 'uplot'

export default class FakeUPlot {
  static instances: FakeUPlot[] = []
  opts: uPlot.Options
  data: uPlot.AlignedData
  destroyed = false
  el: HTMLElement

  constructor(opts: uPlot.Options, data: uPlot.AlignedData, target: HTMLElement) {
    this.opts = opts
    this.data = data
    this.el = document.createElement('div')
    this.el.className = 'fake-uplot'
    target.appendChild(this.el)
    this.mark()
    FakeUPlot.instances.push(this)
  }

  get width() {
    return Number(this.opts.width)
  }

  setData(data: uPlot.AlignedData) {
    this.data = data
    this.mark()
  }

  setSize() {}

  destroy() {
    this.destroyed = true
    this.el.remove()
  }

  private mark() {
    this.el.dataset.points = String(this.data[0]?.length ?? 0)
    this.el.dataset.series = String(this.data.length - 1)
  }
}

import { render } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { Markdown, safeHref } from './Markdown'

describe('Markdown from data', () => {
  it('shows raw HTML as text and creates no img or script element', () => {
    const text = 'Hello <img src=x onerror=alert(1)> and <script>alert(2)</script> bye'
    const { container } = render(<Markdown>{text}</Markdown>)
    expect(container.querySelector('img')).toBeNull()
    expect(container.querySelector('script')).toBeNull()
    expect(container.querySelector('[onerror]')).toBeNull()
    expect(container.textContent).toContain('<img src=x onerror=alert(1)>')
    expect(container.textContent).toContain('<script>alert(2)</script>')
  })

  it('shows a block of raw HTML as text too', () => {
    const { container } = render(<Markdown>{'<div onclick="alert(1)">\n<iframe src="https://evil.example"></iframe>\n</div>'}</Markdown>)
    expect(container.querySelector('iframe, div[onclick]')).toBeNull()
    expect(container.textContent).toContain('<iframe src="https://evil.example"></iframe>')
  })

  it('renders a markdown image as text without loading it', () => {
    const { container } = render(<Markdown>{'![tracker](https://evil.example/pixel.png)'}</Markdown>)
    expect(container.querySelector('img')).toBeNull()
    expect(container.querySelector('[src]')).toBeNull()
    expect(container.textContent).toContain('tracker')
    expect(container.textContent).toContain('https://evil.example/pixel.png')
  })

  it('drops javascript: links and marks the others noopener noreferrer nofollow', () => {
    const { container } = render(<Markdown>{'[bad](javascript:alert(1)) [tab](java\tscript:alert(1)) [good](https://example.com)'}</Markdown>)
    const links = Array.from(container.querySelectorAll('a'))
    expect(links).toHaveLength(1)
    expect(links[0].getAttribute('href')).toBe('https://example.com')
    expect(links[0].getAttribute('rel')).toBe('noopener noreferrer nofollow')
    expect(container.innerHTML).not.toContain('javascript:')
  })

  it('highlights fenced code', () => {
    const { container } = render(<Markdown>{'```python\ndef f():\n    return 1\n```'}</Markdown>)
    expect(container.querySelector('pre code.hljs')).not.toBeNull()
    expect(container.querySelector('.hljs-keyword')?.textContent).toBe('def')
  })

  it('accepts only safe link targets', () => {
    expect(safeHref('https://a.b')).toBe('https://a.b')
    expect(safeHref('/relative')).toBe('/relative')
    expect(safeHref('JaVaScRiPt:alert(1)')).toBeUndefined()
    expect(safeHref('data:text/html,<script>')).toBeUndefined()
    expect(safeHref(' \u0001javascript:x')).toBeUndefined()
  })
})

// Renders text from data (prompts, responses, guidelines) as markdown that cannot run script or load anything.
// Safety comes from three choices: no rehype-raw (react-markdown turns raw HTML into plain text), an `img`
// renderer that never emits <img>, and a link filter that keeps only http(s)/mailto/relative targets.
import { memo, type ReactNode } from 'react'
import ReactMarkdown, { type Components } from 'react-markdown'
import rehypeHighlight from 'rehype-highlight'
import remarkGfm from 'remark-gfm'

const SAFE_URL = /^(https?:|mailto:|[/#?]|\.{0,2}\/)/i

export function safeHref(href: string | undefined): string | undefined {
  if (!href) return undefined
  // Strip control characters and whitespace browsers ignore inside schemes ("java\tscript:").
  const cleaned = href.replace(/[\u0000-\u0020\u007f-\u009f]/g, '')
  if (!SAFE_URL.test(cleaned) && /^[a-z][a-z0-9+.-]*:/i.test(cleaned)) return undefined
  return href
}

const components: Components = {
  img: ({ alt, src }) => (
    <span className="md-image" title="Images are not loaded">
      [image{alt ? `: ${alt}` : ''}
      {src ? ` — ${String(src)}` : ''}]
    </span>
  ),
  a: ({ href, children }) => {
    const safe = safeHref(href)
    if (!safe) return <span className="md-link-blocked">{children}</span>
    return (
      <a href={safe} target="_blank" rel="noopener noreferrer nofollow">
        {children}
      </a>
    )
  },
}

const remarkPlugins = [remarkGfm]
const rehypePlugins = [rehypeHighlight]

function MarkdownImpl({ children, className }: { children: string; className?: string }): ReactNode {
  return (
    <div className={className ? `markdown ${className}` : 'markdown'}>
      <ReactMarkdown remarkPlugins={remarkPlugins} rehypePlugins={rehypePlugins} components={components}>
        {children}
      </ReactMarkdown>
    </div>
  )
}

export const Markdown = memo(MarkdownImpl)

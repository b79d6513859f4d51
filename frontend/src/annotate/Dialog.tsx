import { useEffect, useRef, type FormEvent, type ReactNode } from 'react'

/**
 * A small modal form over the annotation screen. It takes focus (the first field), gives it back to whatever had it
 * on close, keeps the annotation hotkeys from reaching the page behind it, and ignores a held Enter, so a submit key
 * held down since the page behind does not also confirm the dialog.
 */
export function Dialog({ title, id, onSubmit, onCancel, children }: { title: string; id: string; onSubmit: () => void; onCancel: () => void; children: ReactNode }) {
  const form = useRef<HTMLFormElement>(null)

  useEffect(() => {
    const opener = document.activeElement
    form.current?.querySelector<HTMLElement>('input, textarea')?.focus()
    return () => {
      if (opener instanceof HTMLElement) opener.focus()
    }
  }, [])

  function submit(event: FormEvent) {
    event.preventDefault()
    onSubmit()
  }

  return (
    <div
      className="modal-backdrop"
      onMouseDown={(e) => e.target === e.currentTarget && onCancel()}
      onKeyDown={(e) => {
        e.stopPropagation()
        if (e.key === 'Escape') {
          e.preventDefault()
          onCancel()
        } else if (e.key === 'Enter' && e.repeat) {
          e.preventDefault()
        } else if (e.key === 'Enter' && e.target instanceof HTMLInputElement && e.target.type === 'checkbox') {
          e.preventDefault() // a checkbox does not submit its form on Enter by itself; here it does, as a text field
          form.current?.requestSubmit()
        }
      }}
    >
      <form ref={form} className="modal card" role="dialog" aria-modal="true" aria-labelledby={id} onSubmit={submit}>
        <h2 id={id}>{title}</h2>
        {children}
      </form>
    </div>
  )
}

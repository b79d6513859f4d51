import { scaleOptions, type ScalePoint } from './scale'

interface Props {
  value: ScalePoint | null
  onChange: (point: ScalePoint) => void
  allowTie: boolean
  label: string
  compact?: boolean
  showKeys?: boolean
}

/** The 7-point (6 without tie) preference scale, A on the left. */
export function ScaleBar({ value, onChange, allowTie, label, compact, showKeys }: Props) {
  return (
    <div className={compact ? 'scale scale-compact' : 'scale'} role="radiogroup" aria-label={label}>
      <span className="scale-end scale-end-a">A</span>
      {scaleOptions(allowTie).map((option) => {
        const side = option.point < 4 ? 'a' : option.point > 4 ? 'b' : 'tie'
        const checked = value === option.point
        return (
          <button
            key={option.point}
            type="button"
            role="radio"
            aria-checked={checked}
            aria-label={`${option.label}${showKeys ? ` (key ${option.point})` : ''}`}
            title={option.label}
            className={`scale-btn scale-${side}${checked ? ' selected' : ''}`}
            data-enter-submits=""
            data-point={option.point}
            onClick={() => onChange(option.point)}
          >
            {showKeys && <kbd>{option.point}</kbd>}
            {/* Both labels: narrow screens show the short one (styles.css), the full one stays the accessible name. */}
            <span className="scale-label">{compact ? option.short : option.label}</span>
            {!compact && (
              <span className="scale-short" aria-hidden="true">
                {option.short}
              </span>
            )}
          </button>
        )
      })}
      <span className="scale-end scale-end-b">B</span>
    </div>
  )
}

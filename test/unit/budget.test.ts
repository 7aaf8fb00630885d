import { describe, expect, it } from 'vitest'
import { alertsAt, battery } from '../../src/layer2/channels/budget.ts'

describe('the budget as a battery', () => {
  it.each([
    [0, []], [799, []], [800, ['warn-80']], [949, ['warn-80']], [950, ['warn-80', 'warn-95']],
    [999, ['warn-80', 'warn-95']], [1000, ['warn-80', 'warn-95', 'exhausted']]
  ])('at %i of 1000 sat paid: %j', (paid, alerts) => {
    expect(alertsAt(paid, 1000)).toEqual(alerts)
  })

  it('draws what is left', () => {
    expect(battery(0, 1000)).toBe('[██████████] 100%')
    expect(battery(650, 1000, 4)).toBe('[█░░░] 35%')
    expect(battery(5000, 1000)).toBe('[░░░░░░░░░░] 0%')
  })
})

/**
 * `next(value)`, at once when the value is at hand, else once it arrives: the verifier's
 * steps pass a cached credential along without a promise (each one a microtask and an
 * allocation on the path of every authenticated call), and a database read as one.
 */
export function whenKnown<T, U>(value: T | Promise<T>, next: (value: T) => U | Promise<U>): U | Promise<U> {
  return value instanceof Promise ? value.then(next) : next(value)
}

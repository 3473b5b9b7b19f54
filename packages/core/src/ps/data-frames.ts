import { ValidationError } from '../errors.ts';
import type { NamedTensor, NamedTensor__Output } from '../generated/distrain/v1/NamedTensor.ts';

// The zero-copy form of the ZeroMQ data plane (frames in zmq-channel.ts): a message's tensor data
// travels as frames of their own after a body that holds the message with every `data` empty.

const EMPTY = Buffer.alloc(0);

/** A tensor list split for the zero-copy form: the tensors without data, and the data as frames. */
export interface SplitTensors {
  /** The same tensors (name, dtype, shape) with empty `data`, for the body. */
  headers: NamedTensor[];
  /** Each tensor's bytes as a Buffer viewing the caller's memory (no copy), in list order. */
  frames: Buffer[];
}

/** Splits `list` for the zero-copy form; the frames view the tensors' memory. */
export function splitTensorData(list: readonly NamedTensor[]): SplitTensors {
  const headers: NamedTensor[] = [];
  const frames: Buffer[] = [];
  for (const nt of list) {
    const t = nt.tensor;
    if (!t) {
      headers.push(nt);
      frames.push(EMPTY);
      continue;
    }
    const d = t.data;
    const frame =
      d === undefined || d === null
        ? EMPTY
        : Buffer.isBuffer(d)
          ? d
          : typeof d === 'string'
            ? Buffer.from(d, 'base64')
            : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    headers.push({ name: nt.name, tensor: { dtype: t.dtype, shape: t.shape, data: EMPTY } });
    frames.push(frame);
  }
  return { headers, frames };
}

/**
 * Puts the data frames of a zero-copy message into its decoded tensors, in order (`lists` in message
 * order: a request's grads then states, a response's params). With no frames the message was inline
 * and is left as it is. Otherwise there must be exactly one frame per tensor and every tensor's data
 * in the body must be empty (field paths `<field>[i].tensor.data`).
 */
export function fillTensorData(
  lists: readonly { field: string; list: NamedTensor__Output[] }[],
  frames: readonly Buffer[],
  from = 0,
): void {
  const available = frames.length - from;
  if (available <= 0) return;
  let tensors = 0;
  for (const { list } of lists) tensors += list.length;
  if (tensors !== available)
    throw new ValidationError(
      'data frames',
      `the body names ${tensors} tensors but ${available} data frames follow it; send one frame per tensor, in message order`,
    );
  let at = from;
  for (const { field, list } of lists) {
    for (let i = 0; i < list.length; i++) {
      const nt = list[i] as NamedTensor__Output;
      const frame = frames[at++] as Buffer;
      if (!nt.tensor) {
        if (frame.length > 0)
          throw new ValidationError(`${field}[${i}].tensor`, 'is missing but its data frame is not empty');
        continue;
      }
      if (nt.tensor.data.length > 0)
        throw new ValidationError(
          `${field}[${i}].tensor.data`,
          'must be empty in the body when data frames follow (the frame carries the bytes)',
        );
      nt.tensor.data = frame;
    }
  }
}

/**
 * Seeded initial parameters: one implementation shared with the parameter server, which owns it
 * (`ps/init.ts`): a pure function of (variables, seed) with one Rng stream per variable index,
 * He-normal = truncated normal with std sqrt(2/fanIn), Glorot-uniform = U(±sqrt(6/(fanIn+fanOut))).
 * Re-exported here for the model area's reference loop; not re-exported from model/index.ts so the
 * package's public door has one `initialParameters`.
 */
export { initialParameters } from '../ps/init.ts';

// Shared helpers for the client tests: a throwaway database per test file, and decoders/encoders
// for pgvector's binary wire formats (vector_send/recv, halfvec_send/recv, sparsevec_send/recv).
// Connection settings come from the standard PG* environment variables (PGHOST, PGPORT, PGUSER).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pgvector from 'pgvector/pg';

// Creates a database with a unique name, installs quiver in it, and returns
// { client, name, drop }: `client` is a connected pg.Client with pgvector's types registered.
export async function createDatabase(tag) {
  const name = `quiver_clients_${tag}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ database: process.env.PGDATABASE || 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const client = new pg.Client({ database: name });
  await client.connect();
  await client.query('CREATE EXTENSION quiver');
  await pgvector.registerTypes(client);
  const drop = async () => {
    await client.end();
    const a = new pg.Client({ database: process.env.PGDATABASE || 'postgres' });
    await a.connect();
    try {
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await a.end();
    }
  };
  return { client, name, drop };
}

// Runs `promise` and returns the server error it must fail with.
export async function serverError(promise) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof pg.DatabaseError, `expected a server error, got ${err}`);
    return err;
  }
  assert.fail('the query succeeded, an error was expected');
}

// Asserts that `promise` fails with exactly this SQLSTATE and message (and detail, when given).
export async function assertServerError(promise, code, message, detail) {
  const err = await serverError(promise);
  assert.deepEqual(
    { code: err.code, message: err.message, detail: err.detail },
    { code, message, detail },
  );
  return err;
}

// IEEE binary16 bits -> the exact value as a JS number.
export function halfToNumber(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

// vector_send: int16 dim, int16 unused (0), dim big-endian float4.
export function decodeVector(buf) {
  const dim = buf.readInt16BE(0);
  const unused = buf.readInt16BE(2);
  assert.equal(buf.length, 4 + 4 * dim, 'vector binary length');
  const values = [];
  for (let i = 0; i < dim; i++) values.push(buf.readFloatBE(4 + 4 * i));
  return { dim, unused, values };
}

export function encodeVector(values, { dim = values.length, unused = 0 } = {}) {
  const buf = Buffer.alloc(4 + 4 * values.length);
  buf.writeInt16BE(dim, 0);
  buf.writeInt16BE(unused, 2);
  values.forEach((v, i) => buf.writeFloatBE(v, 4 + 4 * i));
  return buf;
}

// halfvec_send: int16 dim, int16 unused (0), dim big-endian binary16 bit patterns.
export function decodeHalfvec(buf) {
  const dim = buf.readInt16BE(0);
  const unused = buf.readInt16BE(2);
  assert.equal(buf.length, 4 + 2 * dim, 'halfvec binary length');
  const bits = [];
  for (let i = 0; i < dim; i++) bits.push(buf.readUInt16BE(4 + 2 * i));
  return { dim, unused, bits, values: bits.map(halfToNumber) };
}

export function encodeHalfvec(bits, { dim = bits.length, unused = 0 } = {}) {
  const buf = Buffer.alloc(4 + 2 * bits.length);
  buf.writeInt16BE(dim, 0);
  buf.writeInt16BE(unused, 2);
  bits.forEach((b, i) => buf.writeUInt16BE(b, 4 + 2 * i));
  return buf;
}

// sparsevec_send: int32 dim, int32 nnz, int32 unused (0), nnz int32 indices (0-based),
// nnz big-endian float4 values.
export function decodeSparsevec(buf) {
  const dim = buf.readInt32BE(0);
  const nnz = buf.readInt32BE(4);
  const unused = buf.readInt32BE(8);
  assert.equal(buf.length, 12 + 8 * nnz, 'sparsevec binary length');
  const indices = [];
  const values = [];
  for (let i = 0; i < nnz; i++) indices.push(buf.readInt32BE(12 + 4 * i));
  for (let i = 0; i < nnz; i++) values.push(buf.readFloatBE(12 + 4 * nnz + 4 * i));
  return { dim, nnz, unused, indices, values };
}

export function encodeSparsevec(dim, indices, values, { nnz = indices.length, unused = 0 } = {}) {
  const buf = Buffer.alloc(12 + 4 * indices.length + 4 * values.length);
  buf.writeInt32BE(dim, 0);
  buf.writeInt32BE(nnz, 4);
  buf.writeInt32BE(unused, 8);
  indices.forEach((ix, i) => buf.writeInt32BE(ix, 12 + 4 * i));
  values.forEach((v, i) => buf.writeFloatBE(v, 12 + 4 * indices.length + 4 * i));
  return buf;
}

// A deterministic pseudo-random float32 vector (LCG), values in [-1, 1).
export function randomFloat32Vector(dim, seed) {
  let s = seed >>> 0;
  const out = [];
  for (let i = 0; i < dim; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(Math.fround(s / 2 ** 31 - 1));
  }
  return out;
}

// PostgreSQL's binary COPY format (COPY ... (FORMAT binary)): the 11-byte signature, int32 flags,
// int32 header-extension length, then per row an int16 field count and per field an int32 length
// (-1 for NULL) and the type's send bytes; an int16 -1 ends the data.
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

export function parseBinaryCopy(buf) {
  assert.ok(buf.subarray(0, 11).equals(COPY_SIGNATURE), 'binary COPY signature');
  let pos = 11;
  const flags = buf.readInt32BE(pos);
  assert.equal(flags, 0, 'binary COPY flags');
  pos += 4;
  pos += 4 + buf.readInt32BE(pos);
  const rows = [];
  for (;;) {
    const n = buf.readInt16BE(pos);
    pos += 2;
    if (n === -1) break;
    const row = [];
    for (let i = 0; i < n; i++) {
      const len = buf.readInt32BE(pos);
      pos += 4;
      if (len === -1) {
        row.push(null);
      } else {
        row.push(Buffer.from(buf.subarray(pos, pos + len)));
        pos += len;
      }
    }
    rows.push(row);
  }
  assert.equal(pos, buf.length, 'nothing after the binary COPY trailer');
  return rows;
}

export function buildBinaryCopy(rows) {
  const parts = [COPY_SIGNATURE, Buffer.alloc(8)];
  for (const row of rows) {
    const n = Buffer.alloc(2);
    n.writeInt16BE(row.length);
    parts.push(n);
    for (const field of row) {
      const len = Buffer.alloc(4);
      len.writeInt32BE(field === null ? -1 : field.length);
      parts.push(len);
      if (field !== null) parts.push(field);
    }
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

export function int4Bytes(n) {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

/**
 * Plain TypeScript kernels. Used where the native addon cannot be built (and in the browser), and as the oracle
 * the native kernels are tested against, so clarity beats speed here; loops are still ordered for locality.
 */
import type { Backend } from "./types.js";

const GELU_K = Math.sqrt(2 / Math.PI);

function sgemm(
  transA: boolean, transB: boolean, m: number, n: number, k: number,
  a: Float32Array, lda: number, b: Float32Array, ldb: number,
  beta: 0 | 1, c: Float32Array, ldc: number,
): void {
  if (beta === 0) for (let i = 0; i < m; i++) c.fill(0, i * ldc, i * ldc + n);
  if (!transB) {
    // C[i, :] += A(i, p) · B[p, :]  — streams rows of B.
    for (let i = 0; i < m; i++) {
      const ci = i * ldc;
      for (let p = 0; p < k; p++) {
        const aip = transA ? a[p * lda + i] : a[i * lda + p];
        if (aip === 0) continue;
        const bp = p * ldb;
        for (let j = 0; j < n; j++) c[ci + j] += aip * b[bp + j];
      }
    }
  } else {
    // C[i, j] += Σ_p A(i, p) · B[j, p]  — dot products of rows.
    for (let i = 0; i < m; i++) {
      const ci = i * ldc;
      for (let j = 0; j < n; j++) {
        const bj = j * ldb;
        let s = 0;
        if (transA) for (let p = 0; p < k; p++) s += a[p * lda + i] * b[bj + p];
        else {
          const ai = i * lda;
          for (let p = 0; p < k; p++) s += a[ai + p] * b[bj + p];
        }
        c[ci + j] += s;
      }
    }
  }
}

export const jsBackend: Backend = {
  name: "js",
  threads: 1,
  sgemm,

  linearForward(out, x, w, bias, N, I, O) {
    sgemm(false, true, N, O, I, x, I, w, I, 0, out, O);
    if (bias) for (let r = 0; r < N; r++) for (let o = 0; o < O; o++) out[r * O + o] += bias[o];
  },

  linearBackward(dx, dw, dbias, dout, x, w, N, I, O) {
    if (dx) sgemm(false, false, N, I, O, dout, O, w, I, 1, dx, I); // [N,O]@[O,I]
    if (dw) sgemm(true, false, O, I, N, dout, O, x, I, 1, dw, I); // [O,N]@[N,I]
    if (dbias) for (let r = 0; r < N; r++) for (let o = 0; o < O; o++) dbias[o] += dout[r * O + o];
  },

  layernormForward(out, mean, rstd, x, w, b, N, C, eps) {
    for (let r = 0; r < N; r++) {
      const o = r * C;
      let mu = 0;
      for (let c = 0; c < C; c++) mu += x[o + c];
      mu /= C;
      let v = 0;
      for (let c = 0; c < C; c++) { const d = x[o + c] - mu; v += d * d; }
      v /= C;
      const s = 1 / Math.sqrt(v + eps);
      for (let c = 0; c < C; c++) out[o + c] = (x[o + c] - mu) * s * w[c] + b[c];
      mean[r] = mu;
      rstd[r] = s;
    }
  },

  layernormBackward(dx, dw, db, dout, x, w, mean, rstd, N, C) {
    for (let r = 0; r < N; r++) {
      const o = r * C, mu = mean[r], s = rstd[r];
      // dnorm = dout·w; dx = s·(dnorm − mean(dnorm) − xhat·mean(dnorm·xhat))
      let m1 = 0, m2 = 0;
      for (let c = 0; c < C; c++) {
        const xhat = (x[o + c] - mu) * s;
        const dn = dout[o + c] * w[c];
        m1 += dn;
        m2 += dn * xhat;
      }
      m1 /= C; m2 /= C;
      for (let c = 0; c < C; c++) {
        const xhat = (x[o + c] - mu) * s;
        const g = dout[o + c];
        if (db) db[c] += g;
        if (dw) dw[c] += g * xhat;
        if (dx) dx[o + c] += s * (g * w[c] - m1 - xhat * m2);
      }
    }
  },

  geluForward(out, x, n) {
    for (let i = 0; i < n; i++) {
      const v = x[i];
      out[i] = 0.5 * v * (1 + Math.tanh(GELU_K * (v + 0.044715 * v * v * v)));
    }
  },

  geluBackward(dx, x, dout, n) {
    for (let i = 0; i < n; i++) {
      const v = x[i];
      const u = GELU_K * (v + 0.044715 * v * v * v);
      const t = Math.tanh(u);
      const du = GELU_K * (1 + 3 * 0.044715 * v * v);
      dx[i] += dout[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du);
    }
  },

  attentionForward(out, att, qkv, mask, B, T, C, H) {
    const hs = C / H, scale = 1 / Math.sqrt(hs), C3 = 3 * C;
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) {
      const q = (b * T + t) * C3 + h * hs;
      const arow = ((b * H + h) * T + t) * T;
      let max = -Infinity;
      for (let s = 0; s <= t; s++) {
        if (mask && mask[(b * T + t) * T + s] === 0) { att[arow + s] = -Infinity; continue; }
        const k = (b * T + s) * C3 + C + h * hs;
        let dot = 0;
        for (let i = 0; i < hs; i++) dot += qkv[q + i] * qkv[k + i];
        dot *= scale;
        att[arow + s] = dot;
        if (dot > max) max = dot;
      }
      let sum = 0;
      for (let s = 0; s <= t; s++) {
        const e = max === -Infinity ? 0 : Math.exp(att[arow + s] - max);
        att[arow + s] = e;
        sum += e;
      }
      const inv = sum > 0 ? 1 / sum : 0;
      for (let s = 0; s <= t; s++) att[arow + s] *= inv;
      for (let s = t + 1; s < T; s++) att[arow + s] = 0;
      const o = (b * T + t) * C + h * hs;
      for (let i = 0; i < hs; i++) out[o + i] = 0;
      for (let s = 0; s <= t; s++) {
        const p = att[arow + s];
        if (p === 0) continue;
        const v = (b * T + s) * C3 + 2 * C + h * hs;
        for (let i = 0; i < hs; i++) out[o + i] += p * qkv[v + i];
      }
    }
  },

  attentionBackward(dqkv, dout, qkv, att, B, T, C, H) {
    const hs = C / H, scale = 1 / Math.sqrt(hs), C3 = 3 * C;
    const datt = new Float64Array(T); // float64 so the float64 gradient checks stay exact
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) {
      const arow = ((b * H + h) * T + t) * T;
      const o = (b * T + t) * C + h * hs;
      // dv[s] += p[t,s]·dout[t]; datt[s] = dout[t]·v[s]
      for (let s = 0; s <= t; s++) {
        const v = (b * T + s) * C3 + 2 * C + h * hs;
        const p = att[arow + s];
        let d = 0;
        for (let i = 0; i < hs; i++) { d += dout[o + i] * qkv[v + i]; dqkv[v + i] += p * dout[o + i]; }
        datt[s] = d;
      }
      // softmax backward: dscore[s] = p[s]·(datt[s] − Σ_u p[u]·datt[u])
      let dot = 0;
      for (let s = 0; s <= t; s++) dot += att[arow + s] * datt[s];
      const q = (b * T + t) * C3 + h * hs;
      for (let s = 0; s <= t; s++) {
        const ds = att[arow + s] * (datt[s] - dot) * scale;
        if (ds === 0) continue;
        const k = (b * T + s) * C3 + C + h * hs;
        for (let i = 0; i < hs; i++) { dqkv[q + i] += ds * qkv[k + i]; dqkv[k + i] += ds * qkv[q + i]; }
      }
    }
  },

  crossEntropyForward(losses, probs, logits, targets, N, V) {
    for (let r = 0; r < N; r++) {
      const o = r * V;
      let max = -Infinity;
      for (let j = 0; j < V; j++) if (logits[o + j] > max) max = logits[o + j];
      let sum = 0;
      for (let j = 0; j < V; j++) { const e = Math.exp(logits[o + j] - max); probs[o + j] = e; sum += e; }
      const inv = 1 / sum;
      for (let j = 0; j < V; j++) probs[o + j] *= inv;
      const tg = targets[r];
      losses[r] = tg >= 0 ? -(logits[o + tg] - max - Math.log(sum)) : 0;
    }
  },

  crossEntropyBackward(dlogits, dlosses, probs, targets, N, V) {
    for (let r = 0; r < N; r++) {
      const tg = targets[r];
      if (tg < 0) continue;
      const d = dlosses[r], o = r * V;
      if (d === 0) continue;
      for (let j = 0; j < V; j++) dlogits[o + j] += d * probs[o + j];
      dlogits[o + tg] -= d;
    }
  },

  add(out, a, b, n) { for (let i = 0; i < n; i++) out[i] = a[i] + b[i]; },
  axpy(dst, alpha, src, n) { for (let i = 0; i < n; i++) dst[i] += alpha * src[i]; },
  scale(x, s, n) { for (let i = 0; i < n; i++) x[i] *= s; },
  sumSquares(x, n) { let s = 0; for (let i = 0; i < n; i++) s += x[i] * x[i]; return s; },

  adamw(p, g, m, v, n, lr, beta1, beta2, eps, weightDecay, step) {
    const bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
    const stepSize = lr / bc1, bc2s = Math.sqrt(bc2), decay = 1 - lr * weightDecay;
    for (let i = 0; i < n; i++) {
      const gi = g[i];
      const mi = (m[i] = beta1 * m[i] + (1 - beta1) * gi);
      const vi = (v[i] = beta2 * v[i] + (1 - beta2) * gi * gi);
      p[i] = p[i] * decay - stepSize * mi / (Math.sqrt(vi) / bc2s + eps);
    }
  },
};

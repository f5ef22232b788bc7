// The TF.js side of models/tfjs2onnx's equality check (TestMatchesTFJS):
// runs a TF.js layers model in @tensorflow/tfjs on its pure-JS CPU backend
// and writes the output.
//
//   node reference.js MODEL_JSON INPUT OUTPUT H W C
//
// INPUT holds H*W*C little-endian float32 values in NHWC order (one image);
// OUTPUT gets the model's output the same way, and stdout its shape as JSON.
// The weights are read from the shards beside MODEL_JSON, exactly as
// tf.loadLayersModel would fetch them; UpscalerJS's custom layers (RRDN
// models) are registered as its JavaScript defines them.
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

class MultiplyBeta extends tf.layers.Layer {
  constructor() { super({}); this.beta = 0.2; }
  call(inputs) { return tf.mul(Array.isArray(inputs) ? inputs[0] : inputs, this.beta); }
  static get className() { return 'MultiplyBeta'; }
}
tf.serialization.registerClass(MultiplyBeta);
for (const scale of [2, 3, 4, 8]) {
  class PixelShuffle extends tf.layers.Layer {
    constructor() { super({}); this.scale = scale; }
    computeOutputShape(s) { return [s[0], s[1], s[2], 3]; }
    call(inputs) { return tf.depthToSpace(Array.isArray(inputs) ? inputs[0] : inputs, this.scale, 'NHWC'); }
    static get className() { return `PixelShuffle${scale}x`; }
  }
  tf.serialization.registerClass(PixelShuffle);
}

async function main() {
  const [modelJSON, input, output, h, w, c] = process.argv.slice(2);
  if (!c) throw new Error('usage: node reference.js MODEL_JSON INPUT OUTPUT H W C');
  await tf.setBackend('cpu');
  const mj = JSON.parse(fs.readFileSync(modelJSON, 'utf8'));
  const dir = path.dirname(modelJSON);
  const specs = [];
  const shards = [];
  for (const g of mj.weightsManifest) {
    specs.push(...g.weights);
    for (const p of g.paths) shards.push(fs.readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(shards);
  const model = await tf.loadLayersModel({
    load: async () => ({
      modelTopology: mj.modelTopology,
      format: mj.format,
      generatedBy: mj.generatedBy,
      convertedBy: mj.convertedBy,
      weightSpecs: specs,
      weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    }),
  });
  const buf = fs.readFileSync(input);
  const x = tf.tensor4d(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4), [1, +h, +w, +c]);
  const y = model.predict(x);
  const data = await y.data();
  fs.writeFileSync(output, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  process.stdout.write(JSON.stringify(y.shape) + '\n');
}

main().catch((err) => { console.error(err.stack || String(err)); process.exit(1); });

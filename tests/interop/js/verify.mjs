// Verifies an eddsa-rdfc-2022 Data Integrity proof with digitalbazaar's reference stack, offline.
// stdin: {"document": {...}, "didDocument": {...}, "contexts": {"<url>": {...}}}
// stdout: {"verified": true|false, "error": "..."}; exit code 0 when verified, 1 otherwise.
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import jsigs from 'jsonld-signatures';

const {purposes: {AssertionProofPurpose}} = jsigs;

const input = JSON.parse(await new Promise(resolve => {
  let text = '';
  process.stdin.on('data', chunk => text += chunk);
  process.stdin.on('end', () => resolve(text));
}));
const {document, didDocument, contexts} = input;

async function documentLoader(url) {
  if(contexts[url]) {
    return {contextUrl: null, documentUrl: url, document: contexts[url]};
  }
  const [did, fragment] = url.split('#');
  if(did === didDocument.id) {
    if(!fragment) {
      return {contextUrl: null, documentUrl: url, document: didDocument};
    }
    const method = didDocument.verificationMethod.find(m => m.id === url);
    if(method) {
      return {
        contextUrl: null, documentUrl: url,
        document: {'@context': didDocument['@context'], ...method}
      };
    }
  }
  throw new Error(`refusing to load ${url}: this verifier is offline`);
}

const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
const result = await jsigs.verify(document, {
  suite, purpose: new AssertionProofPurpose(), documentLoader
});
const errors = [];
if(result.error) {
  for(const e of (result.error.errors || [result.error])) {
    errors.push(e.message || String(e));
  }
}
process.stdout.write(JSON.stringify({verified: result.verified, error: errors.join('; ')}));
process.exit(result.verified ? 0 : 1);

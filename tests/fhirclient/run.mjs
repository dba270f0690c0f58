// Drives Carnet's FHIR facade with fhir-kit-client: create, search, read, replace, and a read the
// policy refuses. Reads CARNET_FHIR_URL, CARNET_TOKEN (a médecin with consent), CARNET_TOKEN_DENIED
// (a kinésithérapeute with consent), CARNET_PATIENT. Prints one JSON line of results; exits 1 on
// the first unexpected outcome.
import { Client } from 'fhir-kit-client';

function fail(msg) { console.error('ÉCHEC : ' + msg); process.exit(1); }

async function main() {
  const baseUrl = process.env.CARNET_FHIR_URL;
  const patient = process.env.CARNET_PATIENT;
  const doctor = new Client({ baseUrl, customHeaders: { Authorization: 'Bearer ' + process.env.CARNET_TOKEN } });
  const kine = new Client({ baseUrl, customHeaders: { Authorization: 'Bearer ' + process.env.CARNET_TOKEN_DENIED } });
  const results = {};

  const cap = await doctor.capabilityStatement();
  if (cap.resourceType !== 'CapabilityStatement' || cap.fhirVersion !== '4.0.1') fail('metadata');
  results.metadata = cap.fhirVersion;

  const text = Buffer.from('Glycémie à jeun : 0,95 g/L').toString('base64');
  const docRef = (title, replaces) => ({
    resourceType: 'DocumentReference',
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '11502-2' }] },
    subject: { reference: 'Patient/' + patient },
    description: title,
    content: [{ attachment: { contentType: 'text/plain', data: text } }],
    ...(replaces ? { relatesTo: [{ code: 'replaces', target: { reference: 'DocumentReference/' + replaces } }] } : {}),
  });
  const created = await doctor.create({ resourceType: 'DocumentReference', body: docRef('Bilan biologique (fhir-kit-client)') });
  if (created.resourceType !== 'DocumentReference' || !created.id) fail('create');
  results.created = created.id;

  const bundle = await doctor.search({ resourceType: 'DocumentReference', searchParams: { patient: 'Patient/' + patient, type: 'http://loinc.org|11502-2' } });
  if (bundle.resourceType !== 'Bundle' || !bundle.entry.some(e => e.resource.id === created.id)) fail('search');
  results.found = bundle.total;

  const read = await doctor.read({ resourceType: 'DocumentReference', id: created.id });
  if (read.id !== created.id || read.description !== 'Bilan biologique (fhir-kit-client)') fail('read');

  const replaced = await doctor.create({ resourceType: 'DocumentReference', body: docRef('Bilan biologique, version corrigée', created.id) });
  const old = await doctor.read({ resourceType: 'DocumentReference', id: created.id });
  if (old.status !== 'superseded' || !replaced.relatesTo || replaced.relatesTo[0].code !== 'replaces') fail('replace');
  results.replaced = replaced.id;

  try {
    await kine.read({ resourceType: 'DocumentReference', id: replaced.id });
    fail('the kinésithérapeute read a lab report');
  } catch (err) {
    const status = err.response && err.response.status;
    const oo = err.response && err.response.data;
    if (status !== 403 || !oo || oo.resourceType !== 'OperationOutcome') fail('denied read: ' + status);
    results.denied = status;
  }
  console.log(JSON.stringify(results));
}

main().catch(err => fail((err.response && JSON.stringify(err.response.data)) || String(err)));

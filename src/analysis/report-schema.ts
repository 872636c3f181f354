/**
 * JSON Schema (draft 2020-12) of the analysis report (report.ts). docs/report.schema.json
 * is this object, written out; a test keeps the two equal and validates real reports
 * against it. `verify` uses it to reject expectation keys that name no report field.
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const str = (description: string): Json => ({ type: 'string', description });
const int = (description: string): Json => ({ type: 'integer', minimum: 0, description });
const num = (description: string): Json => ({ type: 'number', description });
const bool = (description: string): Json => ({ type: 'boolean', description });
const nullable = (t: 'string' | 'integer' | 'number' | 'boolean', description: string): Json => ({ type: [t, 'null'], description });
const ref = (name: string): Json => ({ $ref: `#/$defs/${name}` });
const arr = (items: Json, description: string): Json => ({ type: 'array', items, description });
const role: Json = { enum: ['initiator', 'responder'] };
const nullableRef = (name: string, description: string): Json => ({ anyOf: [ref(name), { type: 'null' }], description });

function obj(properties: Record<string, Json>, description: string, optional: readonly string[] = []): Json {
  return {
    type: 'object',
    description,
    properties,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    additionalProperties: false,
  };
}

const endpointSets = obj(
  {
    on500: arr({ type: 'string' }, 'address:port used with port 500 on either side'),
    on4500: arr({ type: 'string' }, 'address:port used on the NAT-T port pair (neither port 500)'),
  },
  'Endpoints a side used, over all captures',
);

export const REPORT_SCHEMA: { readonly [k: string]: Json } = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://natt-sim.invalid/report.schema.json',
  title: 'natt-sim analysis report',
  ...(obj(
    {
      schemaVersion: { const: 1, description: 'Bumped on incompatible changes' },
      options: obj(
        {
          natTimeoutS: num('NAT mapping lifetime the keepalive and silence checks use (--nat-timeout)'),
          keys: {
            anyOf: [obj({ ikeSas: int('ikev2_decryption_table rows loaded'), espSas: int('esp_sa rows loaded') }, 'Key rows'), { type: 'null' }],
            description: 'null without --keys',
          },
        },
        'Options the analysis ran with',
      ),
      captures: arr(ref('capture'), 'The captures, in the order given'),
      ikeSas: arr(ref('ikeSa'), 'IKE SAs, in order of first appearance'),
      espSas: arr(ref('espSa'), 'ESP SAs: one entry per SPI, encapsulation and capture'),
      unattachedKeepalives: arr(ref('keepalive'), 'Keepalive flows that belong to no IKE SA seen'),
      findings: arr(ref('finding'), 'Problems and observations, errors first'),
      summary: obj(
        { ikeSas: int('Number of IKE SAs'), espSas: int('Number of ESP SAs'), errors: int('Findings of severity error'), warnings: int('Findings of severity warning'), infos: int('Findings of severity info') },
        'Counts',
      ),
    },
    'Output of `natt-sim analyze --json`; see docs/report-json.md.',
  ) as Record<string, Json>),
  $defs: {
    capture: obj(
      {
        index: int('Position in captures[]'),
        file: str('File name as given'),
        format: { enum: ['pcap', 'pcapng', null], description: 'Container format (null if the header was never read)' },
        linktypes: arr({ type: 'integer' }, 'LINKTYPE_* values of the interfaces'),
        packets: int('Frames read'),
        firstTime: nullable('string', 'ISO 8601 time of the first frame'),
        lastTime: nullable('string', 'ISO 8601 time of the last frame'),
        durationS: nullable('number', 'lastTime - firstTime in seconds'),
        counts: obj(
          {
            ike: int('IKE messages'),
            esp: int('ESP packets'),
            keepalives: int('NAT-keepalives'),
            ipFragments: int('IP fragments held for reassembly'),
            malformed: int('Frames that failed to decode'),
            other: int('Other frames'),
          },
          'Frames by kind',
        ),
        truncated: obj({ offset: int('File offset where the file ends or turns invalid'), reason: str('What is wrong there') }, 'Present only when the file was cut'),
      },
      'One capture file',
      ['truncated'],
    ),
    natdHash: obj(
      {
        capture: int('Capture index'),
        frame: int('Frame number'),
        message: str('The message that carried it, e.g. "IKE_SA_INIT request"'),
        sender: role,
        kind: { enum: ['source', 'destination'] },
        carrier: str('The payload: N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP), NAT-D (20|130|15)'),
        encrypted: bool('Read from a decrypted SK payload'),
        algorithm: { enum: ['MD5', 'SHA1', 'SHA2-256', 'SHA2-384', 'SHA2-512'] },
        hash: str('The hash carried, hex'),
        packet: obj({ src: str('Observed source address:port'), dst: str('Observed destination address:port') }, 'The packet that carried it'),
        expected: obj(
          {
            spiI: str('SPIi / CKY-I from the header, hex'),
            spiR: str('SPIr / CKY-R from the header, hex (zeros in the first IKE_SA_INIT request)'),
            endpoint: str('The packet source (SOURCE) or destination (DESTINATION)'),
            input: str('SPIi | SPIr | IP | port, hex'),
            hash: str('The hash a genuine sender computes over these inputs'),
          },
          'What a genuine hash would be, from the observed header',
        ),
        matches: bool('hash equals expected.hash'),
        matchedEndpoint: nullable('string', 'The observed endpoint the hash covers, if any'),
        status: { enum: ['match', 'mismatch', 'translated', 'unverified', 'fake'] },
        explanation: str('Plain explanation'),
      },
      'One NAT-D hash, judged against the packet that carried it',
    ),
    natDetection: obj(
      {
        consistent: bool('False when the hashes contradict each other (verdict unreliable)'),
        initiatorBehindNat: nullable('boolean', 'null without NAT-D'),
        responderBehindNat: nullable('boolean', 'null without NAT-D'),
        fake: bool('Some SOURCE hash is fake (forced encapsulation)'),
        fakeSenders: arr(role, 'Who sent a fake SOURCE hash'),
        hashAlgorithm: { enum: ['MD5', 'SHA1', 'SHA2-256', 'SHA2-384', 'SHA2-512', null] },
        hashes: arr(ref('natdHash'), 'Each hash seen (at most 32)'),
        hashesOmitted: int('Hashes beyond the limit'),
        explanation: arr({ type: 'string' }, 'How the verdict follows'),
      },
      'NAT verdict',
    ),
    keepalive: obj(
      {
        from: { enum: ['initiator', 'responder', null] },
        endpoint: str('Sender address:port'),
        to: str('Receiver address:port'),
        capture: int('Capture index'),
        count: int('Keepalives'),
        meanIntervalS: nullable('number', 'Mean spacing in seconds (null for one keepalive)'),
        maxIntervalS: nullable('number', 'Largest spacing in seconds'),
        minIntervalS: nullable('number', 'Smallest spacing in seconds'),
        firstTime: str('ISO 8601'),
        lastTime: str('ISO 8601'),
        frames: arr({ type: 'integer' }, 'First 16 frames'),
      },
      'NAT-keepalives of one flow',
    ),
    messageRef: obj(
      {
        exchange: str('Exchange name'),
        messageId: int('Message ID'),
        response: bool('A response'),
        sender: { enum: ['initiator', 'responder', null] },
        capture: int('Capture index'),
        frame: int('Frame number'),
      },
      'One IKE message',
    ),
    request: obj(
      {
        message: str('"<EXCHANGE> request"'),
        messageId: int('Message ID'),
        sender: { enum: ['initiator', 'responder', null] },
        capture: int('Capture index'),
        frames: arr({ type: 'integer' }, 'First transmission and retransmissions'),
        retransmissions: int('Identical copies after the first'),
        answered: bool('A response came'),
        ipFragmented: bool('Arrived in IP fragments'),
      },
      'A request and its fate',
    ),
    childSa: obj(
      {
        exchange: str('IKE_AUTH or CREATE_CHILD_SA'),
        messageId: int('Message ID'),
        capture: int('Capture index'),
        frame: int('Frame of the request'),
        protocol: { enum: ['ESP', 'AH'] },
        initiatorSpi: nullable('string', 'SPI chosen by the IKE initiator (traffic responder → initiator)'),
        responderSpi: nullable('string', 'SPI chosen by the IKE responder (traffic initiator → responder)'),
        proposal: nullable('string', 'Accepted proposal, strongSwan notation'),
        tsi: arr({ type: 'string' }, 'TSi'),
        tsr: arr({ type: 'string' }, 'TSr'),
      },
      'A CHILD SA negotiated in a decrypted exchange',
    ),
    decryptedMessage: obj(
      {
        capture: int('Capture index'),
        frame: int('Frame number (the last fragment for SKF)'),
        exchange: str('Exchange name'),
        messageId: int('Message ID'),
        response: bool('A response'),
        sender: role,
        integrity: { enum: ['ok', 'failed'] },
        payloads: arr({ type: 'string' }, 'Inner payloads'),
        fragments: int('SKF fragments reassembled'),
      },
      'A decrypted IKE message',
      ['fragments'],
    ),
    ikeSa: obj(
      {
        index: int('Position in ikeSas[]'),
        version: { enum: [1, 2] },
        spiI: str('Initiator SPI / cookie, hex'),
        spiR: str('Responder SPI / cookie, hex (zeros until known)'),
        initiator: nullable('string', 'Initiator address:port as first seen'),
        responder: nullable('string', 'Responder address:port as first seen'),
        initiatorEndpoints: endpointSets,
        responderEndpoints: endpointSets,
        captures: arr({ type: 'integer' }, 'Captures it appears in'),
        firstFrame: obj({ capture: int('Capture index'), frame: int('Frame number') }, 'First message'),
        firstTime: str('ISO 8601'),
        lastTime: str('ISO 8601'),
        messages: int('Messages, retransmissions excluded'),
        exchanges: { type: 'object', additionalProperties: { type: 'integer' }, description: '"<EXCHANGE> request|response" or "<exchange> from initiator|responder" → count' },
        retransmissions: int('Identical retransmissions'),
        retransmitted: arr(ref('request'), 'Requests that were retransmitted'),
        unanswered: arr(ref('request'), 'Requests never answered'),
        natDetection: ref('natDetection'),
        startedOn4500: bool('First message on the NAT-T port pair'),
        floatedTo4500: bool('Moved from port 500 to the NAT-T port pair'),
        firstMessageOn4500: nullable('string', 'Exchange of the first message on the NAT-T pair'),
        firstMessageOn4500Detail: nullableRef('messageRef', 'That message'),
        marker: obj({ ok: int('With the marker on the NAT-T pair'), missing: int('Without it on the NAT-T pair'), on500: int('With it on port 500') }, 'Non-ESP marker use'),
        ipFragmentedMessages: int('Messages that arrived in IP fragments'),
        ikeFragmentation: obj(
          {
            supportedBy: arr(role, 'Who sent IKEV2_FRAGMENTATION_SUPPORTED'),
            messages: int('Messages sent as SKF fragments'),
            fragments: int('SKF payloads'),
            reassembled: int('Messages decrypted and reassembled'),
            incomplete: int('Messages missing fragments'),
          },
          'RFC 7383',
        ),
        keepalives: arr(ref('keepalive'), 'Keepalive flows between the peers'),
        decryption: {
          anyOf: [obj({ decrypted: int('Decrypted'), integrityFailed: int('ICV did not verify'), failed: int('Could not decrypt'), noKey: int('No key row') }, 'Counts'), { type: 'null' }],
          description: 'null without --keys',
        },
        ids: obj({ initiator: nullable('string', 'IDi'), responder: nullable('string', 'IDr') }, 'Identities from decrypted IKE_AUTH'),
        childSas: arr(ref('childSa'), 'CHILD SAs from decrypted exchanges'),
        decryptedMessages: arr(ref('decryptedMessage'), 'Decrypted messages (at most 64)'),
        decryptedMessagesOmitted: int('Beyond the limit'),
        malformed: int('Messages whose payloads do not decode'),
      },
      'One IKE SA',
    ),
    espSa: obj(
      {
        spi: str('8 hex digits'),
        capture: int('Capture index'),
        encapsulation: { enum: ['udp', 'none'] },
        src: str('address:port (udp) or address (none)'),
        dst: str('address:port (udp) or address (none)'),
        packets: int('Packets'),
        bytes: int('ESP bytes (SPI onwards)'),
        firstSeq: int('First sequence number seen'),
        lastSeq: int('Last sequence number seen'),
        maxSeq: int('Highest sequence number'),
        gaps: int('Missing sequence numbers'),
        replays: int('Repeated sequence numbers'),
        outOfWindow: int('Older than the 1024-packet window'),
        endpointChanges: int('Source endpoint changes'),
        firstTime: str('ISO 8601'),
        lastTime: str('ISO 8601'),
        ikeSa: nullable('integer', 'Owning IKE SA'),
        direction: { enum: ['initiator-to-responder', 'responder-to-initiator', null] },
        childSa: {
          anyOf: [obj({ ikeSa: int('IKE SA index'), exchange: str('Exchange'), messageId: int('Message ID'), chosenBy: role }, 'Where the SPI was negotiated'), { type: 'null' }],
          description: 'Known from a decrypted exchange',
        },
        decrypted: {
          anyOf: [
            obj(
              {
                ok: int('Decrypted with a valid ICV'),
                icvFailed: int('ICV did not verify'),
                failed: int('Other failures'),
                inner: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Inner packet summary → count' },
              },
              'Decryption counts',
            ),
            { type: 'null' },
          ],
          description: 'null when no key row covers the SPI',
        },
      },
      'One ESP SPI in one capture',
    ),
    finding: obj(
      {
        severity: { enum: ['info', 'warning', 'error'] },
        code: str('Stable identifier'),
        message: str('Plain explanation'),
        capture: nullable('integer', 'Capture the frames belong to'),
        frames: arr({ type: 'integer' }, 'Frames (at most 32)'),
        ikeSa: nullable('integer', 'IKE SA concerned'),
        espSpi: nullable('string', 'ESP SPI concerned'),
      },
      'A finding',
    ),
  },
};

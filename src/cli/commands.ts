// Importing a command module registers it with main().
import './decode.ts';
import './analyze.ts';
import './verify.ts';
import './peer.ts';
import './natd.ts';
import './simulate.ts';
import './replay.ts';

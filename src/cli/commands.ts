// Importing a command module registers it with main().
import './decode.ts';
import './analyze.ts';
import './verify.ts';
import './simulate.ts';

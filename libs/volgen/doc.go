// Package volgen writes the volfiles that stock GlusterFS 10.3 brick, client
// and self-heal processes run on, byte for byte as glusterd 10.3 writes them.
//
// The format was reverse-engineered from the golden files in
// shared/fixtures/volfiles (captured from an unmodified glusterd 10.3) and
// from the public option documentation; no GlusterFS source was used.
//
// # What the golden files show
//
//   - A volfile is a list of `volume … end-volume` blocks, bottom of the graph
//     first, separated by one blank line; the last block is the top.
//   - Inside a block, options are listed newest first: a new option goes on
//     top, and setting an option that is already there only changes its value
//     in place (auth.allow on a brick, ping-timeout on a client).
//   - Each generator first writes the options that describe the layout
//     (remote-host, directory, volume-id, …), then walks the option table in
//     the order `gluster volume get all` prints it and writes every option
//     that is set on the volume, or that glusterd always writes (Option.Forced,
//     the rows `volume get` shows without "(DEFAULT)"), into every block of
//     its xlator type on the matching side. A few values come last: send-gids
//     on FUSE clients, shared-brick-count on posix, iam-self-heal-daemon in
//     the self-heal graph.
//   - The options glusterd stores at create time (DefaultOptions) are read
//     from the volume like any other option: the golden info files carry them.
//   - The self-heal graph forces the heal options on, leaves io-stats alone
//     apart from log level and threads, and has no DHT or performance xlators.
//   - The node-wide self-heal graph (NodeSelfHeal, volfile-id
//     gluster/glustershd) has no golden file: glusterd 10.3 multiplexes one
//     shd/<vol> graph per volume instead. It is those graphs' sections under
//     one io-stats named glustershd, as glusterd wrote it before 7.0.
//
// # Known differences
//
// None: every client (trusted and plain), brick and self-heal volfile of the
// seven golden layouts is byte-identical, also after renaming host, volume,
// paths, ids, credentials and working directory (see the KnownDifferences
// table in the tests, which is empty).
//
// # Not verified against glusterd output
//
//   - The position of read-ahead, readdir-ahead, io-cache and nl-cache in the
//     client graph when they are switched on; none occur in the golden files.
//   - The target of options marked KindUnmapped (ssl.*, network.tcp-window-size,
//     auth.ssl-allow, cluster.local-volume-name, cluster.switch-pattern,
//     features.timeout, features.failover-hosts); they are validated but never
//     written.
//   - Options that add xlators volgen does not build (shard, uss, quota,
//     compression, trace, error-gen, delay-gen, sdfs, cloudsync, namespaces,
//     parallel-readdir) are refused by CheckVolume rather than guessed.
//   - Ranges of numeric options come from the public documentation where it
//     gives one; other numbers are checked for form only.
package volgen

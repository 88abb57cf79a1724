/* ledger_fill.h: internal to csrc/ledger. The one mapping from decoded XDR entries and keys to the
 * change records of ledger.h, shared by the LedgerCloseMeta decoder (ledger.c) and the bucket reader
 * (bucket.c), so ledger changes and bucket records are the same records, field for field. */
#ifndef SOB_LEDGER_FILL_H
#define SOB_LEDGER_FILL_H

#include "ledger.h"
#include "stellar_xdr_gen.h"

/* Fill r's entry fields (type, key and kept fields) from a decoded LedgerEntry. */
void sob_ledger_fill_entry(sob_ledger_change *r, const sob_xdr_LedgerEntry *e);
/* Fill r's key fields from a decoded LedgerKey (a removal carries only its key). */
void sob_ledger_fill_key(sob_ledger_change *r, const sob_xdr_LedgerKey *k);

#endif

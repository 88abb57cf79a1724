# csrc/accounts.h: sellers' and takers' funds (accounts, trust lines, issuers, sponsors).
from libc.stdint cimport int64_t, uint32_t, uint64_t

from stellar_ob._c.sob_common cimport sob_status

cdef extern from "accounts.h":
    unsigned int SOB_ASSET_ID_NATIVE
    unsigned int SOB_TL_AUTHORIZED
    unsigned int SOB_TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES
    ctypedef struct sob_account:
        int64_t balance
        int64_t buying_liabilities
        int64_t selling_liabilities
        uint32_t num_sub_entries
        uint32_t num_sponsoring
        uint32_t num_sponsored
        uint32_t flags
    ctypedef struct sob_trustline:
        int64_t balance
        int64_t limit
        int64_t buying_liabilities
        int64_t selling_liabilities
        uint32_t flags
        uint32_t pad
    ctypedef struct sob_hmap:
        size_t mask
        size_t used
    ctypedef struct sob_accounts:
        sob_hmap accounts
        sob_hmap trustlines
        sob_hmap issuers
        sob_hmap sponsors
    void sob_accounts_init(sob_accounts *t)
    void sob_accounts_free(sob_accounts *t)
    void sob_accounts_clear(sob_accounts *t)
    sob_status sob_accounts_set_account(sob_accounts *t, uint64_t key, const sob_account *a)
    sob_status sob_accounts_get_account(const sob_accounts *t, uint64_t key, sob_account *out)
    sob_status sob_accounts_remove_account(sob_accounts *t, uint64_t key)
    sob_status sob_accounts_set_trustline(sob_accounts *t, uint64_t key, uint32_t asset, const sob_trustline *tl)
    sob_status sob_accounts_get_trustline(const sob_accounts *t, uint64_t key, uint32_t asset, sob_trustline *out)
    sob_status sob_accounts_remove_trustline(sob_accounts *t, uint64_t key, uint32_t asset)
    sob_status sob_accounts_set_issuer(sob_accounts *t, uint32_t asset, uint64_t issuer)
    uint64_t sob_accounts_issuer(const sob_accounts *t, uint32_t asset)
    size_t sob_accounts_count(const sob_accounts *t)
    size_t sob_accounts_trustline_count(const sob_accounts *t)
    sob_status sob_accounts_check(const sob_accounts *t)
    void *sob_hmap_at(const sob_hmap *m, size_t i, uint64_t *k1, uint64_t *k2)

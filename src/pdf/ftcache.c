/* FreeType answers that MuPDF asks again for every document.
 *
 * A document's standard fonts (Helvetica, Times, ... and the substitutes
 * for fonts it does not embed) are fresh FreeType faces over font programs
 * compiled into MuPDF, and MuPDF measures them from scratch each time:
 * pdf_load_simple_font() asks the advance of all 256 codes and looks up
 * glyph names, and the text device fills its advance cache 256 glyphs at a
 * time. For a bare CFF font every advance means decoding a charstring, so
 * on a two-page ECG report this was a fifth of all instructions.
 *
 * The answers depend only on the font program and the glyph, so they are
 * kept here, per font program, for the life of the process. The link
 * routes MuPDF's calls to FT_Get_Advance and FT_Get_Name_Index through the
 * __wrap_ functions below (ld --wrap, set in CMakeLists.txt); __real_ is
 * FreeType's. Only faces whose bytes lie in the loaded image of the object
 * MuPDF is linked into are cached: static arrays, which MuPDF never writes
 * (Debian's are not const, so they sit in the writable segment) and which
 * cannot be freed and reused, unlike a font embedded in a PDF, whose bytes
 * are on the heap. Only unscaled advances are cached, and never for
 * variable fonts, whose advances depend on the instance. */
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_ADVANCES_H

#include "pdf/pdf_int.h"

FT_Error __real_FT_Get_Advance(FT_Face face, FT_UInt gindex,
                               FT_Int32 load_flags, FT_Fixed *padvance);
FT_UInt __real_FT_Get_Name_Index(FT_Face face, const FT_String *glyph_name);
FT_Error __wrap_FT_Get_Advance(FT_Face face, FT_UInt gindex,
                               FT_Int32 load_flags, FT_Fixed *padvance);
FT_UInt __wrap_FT_Get_Name_Index(FT_Face face, const FT_String *glyph_name);

#define MAX_RANGES 8
#define MAX_FONTS 64
#define NAME_SLOTS 1024 /* per font; a full table stops caching names */

/* Flags that leave an unscaled advance unchanged (FT_LOAD_NO_SCALE implies
 * no hinting and no bitmaps; advances are never transformed). */
#define UNSCALED_OK                                                            \
    (FT_LOAD_NO_SCALE | FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP |               \
     FT_LOAD_IGNORE_TRANSFORM)

struct name_slot {
    char *name; /* NULL = free */
    FT_UInt gid;
};

struct ft_font {
    const unsigned char *base; /* the font program */
    unsigned long size;
    FT_Long face_index;
    FT_Long nglyphs;
    /* advance * 2 + 1 per glyph; 0 = not asked yet */
    _Atomic int64_t *adv;
    struct name_slot *names; /* NAME_SLOTS, under lock */
    size_t nnames;
};

static struct {
    pthread_once_t once;
    uintptr_t image[MAX_RANGES][2]; /* MuPDF's segments: [start, end) */
    size_t nimage;
    pthread_mutex_t lock; /* adding fonts, the name tables */
    struct ft_font fonts[MAX_FONTS];
    atomic_size_t nfonts; /* published entries */
} cache = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER};

/* dl_iterate_phdr callback: the PT_LOAD segments (.bss included) of the
 * object whose code contains *arg (the address of a MuPDF function). */
static int find_image(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    uintptr_t code = *(const uintptr_t *)arg;
    bool mine = false;
    for (int i = 0; i < info->dlpi_phnum && !mine; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        mine = ph->p_type == PT_LOAD && code >= start &&
               code - start < ph->p_memsz;
    }
    if (!mine)
        return 0;
    for (int i = 0; i < info->dlpi_phnum && cache.nimage < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        cache.image[cache.nimage][0] = start;
        cache.image[cache.nimage][1] = start + ph->p_memsz;
        cache.nimage++;
    }
    return 1;
}

static void find_ranges(void)
{
    uintptr_t code = (uintptr_t)&fz_lookup_base14_font;
    dl_iterate_phdr(find_image, &code);
}

void pdfi_ftcache_init(void)
{
    pthread_once(&cache.once, find_ranges);
}

bool pdfi_ftcache_is_static(const void *p, size_t n)
{
    uintptr_t a = (uintptr_t)p;
    for (size_t i = 0; i < cache.nimage; i++) {
        if (a >= cache.image[i][0] && a < cache.image[i][1] &&
            n <= cache.image[i][1] - a)
            return true;
    }
    return false;
}

/* The cache entry of face's font program, or NULL if it is not cached. */
static struct ft_font *font_of(FT_Face face)
{
    if (!face || !face->stream || !face->stream->base ||
        FT_HAS_MULTIPLE_MASTERS(face) || face->num_glyphs <= 0)
        return NULL;
    const unsigned char *base = face->stream->base;
    unsigned long size = face->stream->size;
    size_t n = atomic_load_explicit(&cache.nfonts, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        struct ft_font *f = &cache.fonts[i];
        if (f->base == base && f->size == size &&
            f->face_index == face->face_index)
            return f->nglyphs == face->num_glyphs ? f : NULL;
    }
    if (!pdfi_ftcache_is_static(base, size))
        return NULL;

    struct ft_font *found = NULL;
    pthread_mutex_lock(&cache.lock);
    n = atomic_load_explicit(&cache.nfonts, memory_order_relaxed);
    for (size_t i = 0; i < n && !found; i++) {
        struct ft_font *f = &cache.fonts[i];
        if (f->base == base && f->size == size &&
            f->face_index == face->face_index)
            found = f;
    }
    if (!found && n < MAX_FONTS) {
        struct ft_font *f = &cache.fonts[n];
        f->adv = calloc((size_t)face->num_glyphs, sizeof(*f->adv));
        f->names = calloc(NAME_SLOTS, sizeof(*f->names));
        if (f->adv && f->names) {
            f->base = base;
            f->size = size;
            f->face_index = face->face_index;
            f->nglyphs = face->num_glyphs;
            atomic_store_explicit(&cache.nfonts, n + 1, memory_order_release);
            found = f;
        } else {
            free((void *)f->adv);
            free(f->names);
            f->adv = NULL;
            f->names = NULL;
        }
    }
    pthread_mutex_unlock(&cache.lock);
    return found && found->nglyphs == face->num_glyphs ? found : NULL;
}

FT_Error __wrap_FT_Get_Advance(FT_Face face, FT_UInt gindex,
                               FT_Int32 load_flags, FT_Fixed *padvance)
{
    bool unscaled = (load_flags & FT_LOAD_NO_SCALE) &&
                    !(load_flags & ~(FT_Int32)UNSCALED_OK);
    struct ft_font *f = unscaled ? font_of(face) : NULL;
    if (!f || (FT_Long)gindex >= f->nglyphs)
        return __real_FT_Get_Advance(face, gindex, load_flags, padvance);
    int64_t v = atomic_load_explicit(&f->adv[gindex], memory_order_relaxed);
    if (v) {
        *padvance = (FT_Fixed)((v - 1) / 2);
        return 0;
    }
    FT_Error e = __real_FT_Get_Advance(face, gindex, load_flags, padvance);
    if (!e)
        atomic_store_explicit(&f->adv[gindex], (int64_t)*padvance * 2 + 1,
                              memory_order_relaxed);
    return e;
}

static size_t name_hash(const char *s)
{
    size_t h = 5381;
    for (; *s; s++)
        h = h * 33 + (unsigned char)*s;
    return h;
}

/* The slot holding name in f's table, or the free slot where it would go.
 * Under cache.lock; the table always keeps free slots. */
static struct name_slot *name_slot(struct ft_font *f, const char *name)
{
    size_t i = name_hash(name) % NAME_SLOTS;
    while (f->names[i].name && strcmp(f->names[i].name, name) != 0)
        i = (i + 1) % NAME_SLOTS;
    return &f->names[i];
}

FT_UInt __wrap_FT_Get_Name_Index(FT_Face face, const FT_String *glyph_name)
{
    struct ft_font *f = glyph_name ? font_of(face) : NULL;
    if (!f)
        return __real_FT_Get_Name_Index(face, glyph_name);
    pthread_mutex_lock(&cache.lock);
    struct name_slot *slot = name_slot(f, glyph_name);
    if (slot->name) {
        FT_UInt gid = slot->gid;
        pthread_mutex_unlock(&cache.lock);
        return gid;
    }
    /* Keep a quarter of the table free so probes stay short. */
    bool room = f->nnames < NAME_SLOTS - NAME_SLOTS / 4;
    pthread_mutex_unlock(&cache.lock);

    FT_UInt gid = __real_FT_Get_Name_Index(face, glyph_name);
    if (!room)
        return gid;
    char *copy = strdup(glyph_name);
    pthread_mutex_lock(&cache.lock);
    slot = name_slot(f, glyph_name); /* another thread may have added it */
    if (copy && !slot->name && f->nnames < NAME_SLOTS - NAME_SLOTS / 4) {
        slot->name = copy;
        slot->gid = gid;
        f->nnames++;
        copy = NULL;
    }
    pthread_mutex_unlock(&cache.lock);
    free(copy);
    return gid;
}

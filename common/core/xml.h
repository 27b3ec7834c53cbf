/* A tolerant scan of XML text (SOAP replies): tags by local name, any
 * prefix, any case; element text with CDATA kept and entities decoded. No
 * DTDs, no external entities: nothing it reads can make it fetch anything. */
#ifndef IW_XML_H
#define IW_XML_H

#include <stddef.h>

enum iw_xml_kind { IW_XML_START, IW_XML_END, IW_XML_EMPTY, IW_XML_OTHER };

struct iw_xml_tag {
	enum iw_xml_kind kind;
	const char *local;              /* name without its prefix */
	size_t local_len;
	const char *begin, *end;        /* '<' and one past '>' */
};

/* The next tag at or after P in [P, END): 0 with T set, or -1. */
int iw_xml_next_tag(const char *p, const char *end, struct iw_xml_tag *t);
/* 1 when T's local name is LOCAL (any case). */
int iw_xml_is_named(const struct iw_xml_tag *t, const char *local);
/* Finds the first element named LOCAL (any prefix, any case) in [P, END):
 * its content range and the position after it. 0, or -1 when absent. */
int iw_xml_find_element(const char *p, const char *end, const char *local,
			const char **in_begin, const char **in_end, const char **after);
/* The text of [P, END): CDATA kept, entities decoded, markup dropped,
 * trimmed; malloc'd, NULL when out of memory. */
char *iw_xml_text_of(const char *p, const char *end);
/* The text of the first LOCAL element in [P, END), or NULL. */
char *iw_xml_child_text(const char *p, const char *end, const char *local);
#endif

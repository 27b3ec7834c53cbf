/* core/mime: the Content-Type tests of the JSON bodies, the pull's upload
 * and the explorer's forms. */
#include "core/mime.h"
#include "unit.h"

int main(void)
{
	CHECK(iw_mime_is("text/csv", "text/csv"));
	CHECK(iw_mime_is("Text/CSV; charset=utf-8", "text/csv"));
	CHECK(iw_mime_is("text/csv ;x=1", "text/csv"));
	CHECK(!iw_mime_is("text/csvx", "text/csv"));
	CHECK(!iw_mime_is("text/cs", "text/csv"));
	CHECK(!iw_mime_is("", "text/csv"));

	CHECK(iw_mime_json(""));                      /* none: JSON */
	CHECK(iw_mime_json("application/json"));
	CHECK(iw_mime_json("APPLICATION/JSON; charset=utf-8"));
	CHECK(iw_mime_json("application/merge-patch+json"));
	CHECK(!iw_mime_json("application/jsonx"));
	CHECK(!iw_mime_json("text/json"));
	CHECK(!iw_mime_json("text/csv"));
	CHECK(!iw_mime_json("application/gzip"));
	CHECK(!iw_mime_json("+json"));
	return unit_report("core_mime");
}

// INSEE codes of foreign countries and territories (« code officiel géographique », COG
// 2025, table of countries; Licence Ouverte / Open Licence, INSEE). FranceConnect gives the
// birth country with these codes (99100 = France). No maintained npm package ships this table:
// it is kept here as data, one line per code, with the year a former country ceased to exist.
// To update: take the INSEE « pays et territoires étrangers » file of the new year and keep, for
// each code, its short name (LIBCOG) and, for codes no longer in use, the end year.
export interface InseeCountry { code: string; name: string; until?: number }

const ROWS: [number, string, number?][] = [
  [99100, 'France'], [99101, 'Danemark'], [99102, 'Islande'], [99103, 'Norvège'], [99104, 'Suède'],
  [99105, 'Finlande'], [99106, 'Estonie'], [99107, 'Lettonie'], [99108, 'Lituanie'], [99109, 'Allemagne'],
  [99110, 'Autriche'], [99111, 'Bulgarie'], [99112, 'Hongrie'], [99113, 'Liechtenstein'], [99114, 'Roumanie'],
  [99115, 'Tchécoslovaquie', 1993], [99116, 'Tchéquie'], [99117, 'Slovaquie'], [99118, 'Bosnie-Herzégovine'],
  [99119, 'Croatie'], [99120, 'Monténégro'], [99121, 'Serbie'], [99122, 'Pologne'], [99123, 'Russie'],
  [99124, 'Turquie d’Europe', 1966], [99125, 'Albanie'], [99126, 'Grèce'], [99127, 'Italie'], [99128, 'Saint-Marin'],
  [99129, 'Vatican'], [99130, 'Andorre'], [99131, 'Belgique'], [99132, 'Royaume-Uni'],
  [99133, 'Territoires britanniques en Méditerranée'], [99134, 'Espagne'], [99135, 'Pays-Bas'], [99136, 'Irlande'],
  [99137, 'Luxembourg'], [99138, 'Monaco'], [99139, 'Portugal'], [99140, 'Suisse'],
  [99141, 'Allemagne de l’Est', 1990], [99142, 'Allemagne de l’Ouest', 1990], [99143, 'Chypre', 1994], [99144, 'Malte'],
  [99145, 'Slovénie'], [99148, 'Biélorussie'], [99151, 'Moldavie'], [99155, 'Ukraine'], [99156, 'Macédoine du Nord'],
  [99157, 'Kosovo'], [99158, 'Féroé'], [99159, 'Territoires norvégiens en Atlantique Nord'], [99160, 'Åland'],
  [99161, 'Dépendances de la Couronne britannique'], [99162, 'Île des Faisans'],
  [99201, 'Arabie saoudite'], [99202, 'Yémen du Nord', 1990], [99203, 'Irak'], [99204, 'Iran'], [99205, 'Liban'],
  [99206, 'Syrie'], [99207, 'Israël'], [99208, 'Turquie'], [99209, 'Sibérie', 1943], [99210, 'Turkestan russe', 1943],
  [99211, 'Kamtchatka', 1943], [99212, 'Afghanistan'], [99213, 'Pakistan'], [99214, 'Bhoutan'], [99215, 'Népal'],
  [99216, 'Chine'], [99217, 'Japon'], [99218, 'Mandchoukouo', 1945], [99219, 'Thaïlande'], [99220, 'Philippines'],
  [99221, 'Territoires britanniques au Proche-Orient', 1971], [99222, 'Jordanie'], [99223, 'Inde'], [99224, 'Birmanie'],
  [99225, 'Brunei'], [99226, 'Singapour'], [99227, 'Malaisie'], [99228, 'États malais non fédérés', 1946],
  [99229, 'Maldives'], [99230, 'Hong Kong'], [99231, 'Indonésie'], [99232, 'Macao'], [99233, 'Yémen du Sud', 1990],
  [99234, 'Cambodge'], [99235, 'Sri Lanka'], [99236, 'Taïwan'], [99237, 'Corée', 1953], [99238, 'Corée du Nord'],
  [99239, 'Corée du Sud'], [99240, 'Koweït'], [99241, 'Laos'], [99242, 'Mongolie'], [99243, 'Vietnam'],
  [99244, 'Vietnam du Nord', 1976], [99245, 'Vietnam du Sud', 1976], [99246, 'Bangladesh'], [99247, 'Émirats arabes unis'],
  [99248, 'Qatar'], [99249, 'Bahreïn'], [99250, 'Oman'], [99251, 'Yémen'], [99252, 'Arménie'], [99253, 'Azerbaïdjan'],
  [99254, 'Chypre'], [99255, 'Géorgie'], [99256, 'Kazakhstan'], [99257, 'Kirghizstan'], [99258, 'Ouzbékistan'],
  [99259, 'Tadjikistan'], [99260, 'Turkménistan'], [99261, 'Palestine'], [99262, 'Timor oriental'],
  [99263, 'Protectorat d’Arabie du Sud', 1967], [99264, 'Nouvelle-Guinée néerlandaise', 1963],
  [99265, 'Territoires australiens de l’océan Indien'],
  [99301, 'Égypte'], [99302, 'Libéria'], [99303, 'Afrique du Sud'], [99304, 'Gambie'], [99305, 'Cameroun britannique', 1961],
  [99306, 'Territoires britanniques de l’océan Atlantique'], [99307, 'Kenya (colonie britannique)', 1963],
  [99308, 'Territoire britannique de l’océan Indien'], [99309, 'Tanzanie'], [99310, 'Zimbabwe'], [99311, 'Namibie'],
  [99312, 'République démocratique du Congo'], [99313, 'Territoires espagnols en Afrique du Nord'],
  [99314, 'Guinée équatoriale'], [99315, 'Éthiopie'], [99316, 'Libye'], [99317, 'Érythrée'], [99318, 'Somalie'],
  [99319, 'Territoires portugais de l’océan Atlantique'], [99320, 'Mozambique (colonie portugaise)', 1975],
  [99321, 'Burundi'], [99322, 'Cameroun'], [99323, 'Centrafrique'], [99324, 'Congo'], [99325, 'Tanger', 1956],
  [99326, 'Côte d’Ivoire'], [99327, 'Bénin'], [99328, 'Gabon'], [99329, 'Ghana'], [99330, 'Guinée'], [99331, 'Burkina'],
  [99332, 'Kenya'], [99333, 'Madagascar'], [99334, 'Malawi'], [99335, 'Mali'], [99336, 'Mauritanie'], [99337, 'Niger'],
  [99338, 'Nigéria'], [99339, 'Ouganda'], [99340, 'Rwanda'], [99341, 'Sénégal'], [99342, 'Sierra Leone'],
  [99343, 'Soudan'], [99344, 'Tchad'], [99345, 'Togo'], [99346, 'Zambie'], [99347, 'Botswana'], [99348, 'Lesotho'],
  [99349, 'Soudan du Sud'], [99350, 'Maroc'], [99351, 'Tunisie'], [99352, 'Algérie'], [99362, 'Zanzibar', 1964],
  [99363, 'Terres australes norvégiennes'], [99389, 'Sahara occidental'], [99390, 'Maurice'], [99391, 'Swaziland'],
  [99392, 'Guinée-Bissao'], [99393, 'Mozambique'], [99394, 'Sao Tomé-et-Principe'], [99395, 'Angola'],
  [99396, 'Cap-Vert'], [99397, 'Comores'], [99398, 'Seychelles'], [99399, 'Djibouti'],
  [99401, 'Canada'], [99402, 'Terre-Neuve', 1949], [99403, 'Labrador', 1949], [99404, 'États-Unis'], [99405, 'Mexique'],
  [99406, 'Costa Rica'], [99407, 'Cuba'], [99408, 'République dominicaine'], [99409, 'Guatémala'], [99410, 'Haïti'],
  [99411, 'Honduras'], [99412, 'Nicaragua'], [99413, 'Panama'], [99414, 'Salvador'], [99415, 'Argentine'],
  [99416, 'Brésil'], [99417, 'Chili'], [99418, 'Bolivie'], [99419, 'Colombie'], [99420, 'Équateur'], [99421, 'Paraguay'],
  [99422, 'Pérou'], [99423, 'Uruguay'], [99424, 'Vénézuéla'], [99425, 'Territoires britanniques dans les Antilles et Bermudes'],
  [99426, 'Jamaïque'], [99427, 'Territoires britanniques dans l’océan Atlantique Sud'], [99428, 'Guyana'], [99429, 'Bélize'],
  [99430, 'Groenland'], [99431, 'Aruba'], [99432, 'Territoires des États-Unis en Amérique'], [99433, 'Trinité-et-Tobago'],
  [99434, 'Barbade'], [99435, 'Grenade'], [99436, 'Bahamas'], [99437, 'Suriname'], [99438, 'Dominique'],
  [99439, 'Sainte-Lucie'], [99440, 'Saint-Vincent-et-les-Grenadines'], [99441, 'Antigua-et-Barbuda'],
  [99442, 'Saint-Christophe-et-Niévès'], [99443, 'Bonaire, Saint-Eustache, Saba'], [99444, 'Curaçao'],
  [99445, 'Saint-Martin (partie néerlandaise)'], [99446, 'Territoire antarctique argentin'], [99447, 'Territoire antarctique chilien'],
  [99501, 'Australie'], [99502, 'Nouvelle-Zélande'], [99503, 'Pitcairn'], [99504, 'Îles Hawaï', 1959],
  [99505, 'Territoires des États-Unis en Océanie'], [99506, 'Samoa'], [99507, 'Nauru'], [99508, 'Fidji'], [99509, 'Tonga'],
  [99510, 'Papouasie-Nouvelle-Guinée'], [99511, 'Tuvalu'], [99512, 'Salomon'], [99513, 'Kiribati'], [99514, 'Vanuatu'],
  [99515, 'Marshall'], [99516, 'Micronésie'], [99517, 'Palaos'], [99519, 'Territoires de la Nouvelle-Zélande'],
  [99520, 'Cook'], [99521, 'Niue'], [99522, 'Territoires de l’Australie en Océanie'], [99699, 'Antarctique'],
];

export const INSEE_COUNTRIES: readonly InseeCountry[] = ROWS.map(([code, name, until]) => (until ? { code: String(code), name, until } : { code: String(code), name }));

export const FRANCE_CODE = '99100';

const BY_CODE = new Map(INSEE_COUNTRIES.map((c) => [c.code, c]));

export function countryByCode(code: string): InseeCountry | undefined {
  return BY_CODE.get(code);
}

/** Label shown to residents: « Allemagne de l’Ouest (jusqu’en 1990) ». */
export function countryLabel(country: InseeCountry): string {
  return country.until ? `${country.name} (jusqu’en ${country.until})` : country.name;
}
